package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/store/storetest"
)

// TestCancelledTransactions cancels transactions in the middle of their
// statements, as a client going away or a job stopping does, and checks
// that every write after them is committed and seen: an interrupted SQLite
// statement once left the write connection inside a transaction nothing
// ended, so that later writes were lost (or refused as locked).
func TestCancelledTransactions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s packages.Store) {
		for i := range 100 {
			ctx, cancel := context.WithCancel(context.Background())
			go func() {
				time.Sleep(time.Duration(i%10) * 100 * time.Microsecond)
				cancel()
			}()
			_ = s.WithTx(ctx, func(tx packages.Store) error {
				for range 50 {
					if err := tx.AddEvent(ctx, &packages.Event{Action: "x"}); err != nil {
						return err
					}
				}
				return nil
			})
			_ = s.AddEvent(ctx, &packages.Event{Action: "y"})
			cancel()
			o := &packages.Owner{Login: fmt.Sprintf("u%d", i), Type: packages.UserOwner}
			if err := s.CreateOwner(context.Background(), o); err != nil {
				t.Fatalf("round %d: create an owner: %v", i, err)
			}
			if _, err := s.GetOwnerByLogin(context.Background(), o.Login); err != nil {
				t.Fatalf("round %d: the committed owner is not seen: %v", i, err)
			}
		}
	})
}
