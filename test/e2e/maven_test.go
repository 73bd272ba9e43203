package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/packhub/packhub/internal/testenv"
)

// The Maven plugins Debian packages, pinned as the local repository
// /usr/share/maven-repo has them; every other repository is mirrored to it,
// so the only remote mvn talks to is Packhub.
const mavenPlugins = `
    <plugins>
      <plugin><groupId>org.apache.maven.plugins</groupId><artifactId>maven-resources-plugin</artifactId><version>3.3.0</version></plugin>
      <plugin><groupId>org.apache.maven.plugins</groupId><artifactId>maven-compiler-plugin</artifactId><version>3.10.1</version></plugin>
      <plugin><groupId>org.apache.maven.plugins</groupId><artifactId>maven-surefire-plugin</artifactId><version>2.22.3</version></plugin>
      <plugin><groupId>org.apache.maven.plugins</groupId><artifactId>maven-jar-plugin</artifactId><version>3.3.0</version></plugin>
      <plugin><groupId>org.apache.maven.plugins</groupId><artifactId>maven-install-plugin</artifactId><version>3.1.0</version></plugin>
      <plugin><groupId>org.apache.maven.plugins</groupId><artifactId>maven-deploy-plugin</artifactId><version>3.0.0</version></plugin>
    </plugins>`

const (
	mavenDeployPlugin     = "org.apache.maven.plugins:maven-deploy-plugin:3.0.0"
	mavenDependencyPlugin = "org.apache.maven.plugins:maven-dependency-plugin:3.5.0"
)

// mavenUser runs the real mvn with a settings.xml of its own: the Debian
// repository as the mirror of everything but "packhub", a server entry
// with the token (when there is one), and a local repository that fresh()
// empties.
type mavenUser struct {
	t        *testing.T
	bin      string
	token    string
	settings string
	local    string
}

func newMavenUser(t *testing.T, bin, token string) *mavenUser {
	t.Helper()
	u := &mavenUser{t: t, bin: bin, token: token, settings: filepath.Join(t.TempDir(), "settings.xml")}
	u.fresh()
	return u
}

// fresh gives the user a new, empty local repository.
func (u *mavenUser) fresh() {
	u.t.Helper()
	u.local = u.t.TempDir()
	server := ""
	if u.token != "" {
		server = "<server><id>packhub</id><username>maven</username><password>" + u.token + "</password></server>"
	}
	settings := `<settings>
  <localRepository>` + u.local + `</localRepository>
  <mirrors><mirror><id>debian</id><mirrorOf>*,!packhub</mirrorOf><url>file:///usr/share/maven-repo</url></mirror></mirrors>
  <servers>` + server + `</servers>
</settings>
`
	if err := os.WriteFile(u.settings, []byte(settings), 0o600); err != nil {
		u.t.Fatal(err)
	}
}

func (u *mavenUser) run(dir string, args ...string) (string, bool) {
	u.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, u.bin, append([]string{"-B", "-c", "-s", u.settings, "-Dstyle.color=never"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "MAVEN_OPTS=-Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC", "HOME="+u.t.TempDir())
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err == nil
}

func (u *mavenUser) must(dir string, args ...string) string {
	u.t.Helper()
	out, ok := u.run(dir, args...)
	if !ok {
		u.t.Fatalf("mvn %s failed:\n%s", strings.Join(args, " "), tail(out, 6000))
	}
	return out
}

func (u *mavenUser) mustFail(dir string, args ...string) string {
	u.t.Helper()
	out, ok := u.run(dir, args...)
	if ok {
		u.t.Fatalf("mvn %s succeeded:\n%s", strings.Join(args, " "), tail(out, 6000))
	}
	return out
}

// writeFiles writes files (path -> content) under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// mavenLibrary writes a jar project com.example:ARTIFACT:VERSION with one
// class, deploying to repoURL.
func mavenLibrary(t *testing.T, dir, artifact, version, repoURL, class, source string) {
	t.Helper()
	writeFiles(t, dir, map[string]string{
		"pom.xml": `<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>com.example</groupId>
  <artifactId>` + artifact + `</artifactId>
  <version>` + version + `</version>
  <packaging>jar</packaging>
  <properties>
    <maven.compiler.source>17</maven.compiler.source>
    <maven.compiler.target>17</maven.compiler.target>
    <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>
  </properties>
  <distributionManagement>
    <repository><id>packhub</id><url>` + repoURL + `</url></repository>
    <snapshotRepository><id>packhub</id><url>` + repoURL + `</url></snapshotRepository>
  </distributionManagement>
  <build>` + mavenPlugins + `</build>
</project>
`,
		"src/main/java/com/example/" + class + ".java": source,
	})
}

// mavenApp writes a project that depends on greeter 1.0 and on textutil
// 2.0-SNAPSHOT, with Packhub's repository as its only remote.
func mavenApp(t *testing.T, repoURL string) string {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"pom.xml": `<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>com.example</groupId>
  <artifactId>app</artifactId>
  <version>1.0</version>
  <properties>
    <maven.compiler.source>17</maven.compiler.source>
    <maven.compiler.target>17</maven.compiler.target>
    <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>
  </properties>
  <repositories>
    <repository>
      <id>packhub</id><url>` + repoURL + `</url>
      <releases><checksumPolicy>fail</checksumPolicy></releases>
      <snapshots><enabled>true</enabled><updatePolicy>always</updatePolicy><checksumPolicy>fail</checksumPolicy></snapshots>
    </repository>
  </repositories>
  <dependencies>
    <dependency><groupId>com.example</groupId><artifactId>greeter</artifactId><version>1.0</version></dependency>
    <dependency><groupId>com.example</groupId><artifactId>textutil</artifactId><version>2.0-SNAPSHOT</version></dependency>
  </dependencies>
  <build>` + mavenPlugins + `</build>
</project>
`,
		// Whisper exists only in textutil's newest build.
		"src/main/java/com/example/App.java": `package com.example;
public class App {
  public static void main(String[] args) {
    System.out.println(TextUtil.whisper(Greeter.greet("maven")));
  }
}
`,
	})
	return dir
}

// httpGet fetches a URL with an optional token and returns the status and
// body.
func httpGet(t *testing.T, s *Server, url, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.SetBasicAuth("maven", token)
	}
	res, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// mavenVersionID returns the REST id of a version of a Maven package.
func mavenVersionID(t *testing.T, s *Server, token, pkg, version string) int64 {
	t.Helper()
	var versions []struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	}
	json.Unmarshal(restCall(t, s, "GET", "/user/packages/maven/"+pkg+"/versions", token), &versions)
	for _, v := range versions {
		if v.Name == version {
			return v.ID
		}
	}
	t.Fatalf("no version %s of %s in %+v", version, pkg, versions)
	return 0
}

// TestMaven drives the real mvn against packhub serve: deploy-file of a
// jar, mvn deploy of a jar project's release and SNAPSHOT builds (with
// retention), a dependent project resolving both from Packhub alone,
// dependency:get through OWNER/*, a REST delete and restore seen by the
// build at once, a read-only token refused, and anonymous reads of a
// public repository allowed and of a private one refused.
func TestMaven(t *testing.T) {
	t.Parallel()
	eachDatabase(t, testMaven)
}

func testMaven(t *testing.T, db Database) {
	bin := requireTool(t, "mvn")
	if !fileExists("/usr/share/maven-repo/org/apache/maven/plugins/maven-deploy-plugin/3.0.0") {
		testenv.Missing(t, "Debian's Maven plugins are not installed; scripts/install-test-deps.sh installs them")
	}
	s := StartServer(t, db, WithArgs("--maven-snapshot-retention", "2"))
	s.Admin("user", "create", "octo")
	s.Admin("repo", "create", "octo/libs", "--visibility", "private")
	s.Admin("repo", "create", "octo/open", "--visibility", "public")
	tok := s.Token("octo", "read:packages,write:packages,delete:packages,repo")
	libs := s.URL + "/maven/octo/libs"
	octo := newMavenUser(t, bin, tok)
	work := t.TempDir()

	// deploy:deploy-file of a plain jar.
	jar := filepath.Join(work, "tool.jar")
	writeFiles(t, work, map[string]string{"tool/readme.txt": "a tool\n"})
	if out, err := exec.Command("jar", "cf", jar, "-C", filepath.Join(work, "tool"), ".").CombinedOutput(); err != nil {
		t.Fatalf("jar: %v\n%s", err, out)
	}
	octo.must(work, mavenDeployPlugin+":deploy-file", "-Dfile="+jar, "-DgroupId=com.example", "-DartifactId=tool",
		"-Dversion=1.0", "-Dpackaging=jar", "-DrepositoryId=packhub", "-Durl="+libs)
	if code, body := httpGet(t, s, libs+"/com/example/tool/maven-metadata.xml", tok); code != 200 || !strings.Contains(body, "<release>1.0</release>") {
		t.Fatalf("tool metadata: %d %s", code, body)
	}

	// mvn deploy of a release and of SNAPSHOT builds of real jar projects.
	greeter := t.TempDir()
	mavenLibrary(t, greeter, "greeter", "1.0", libs, "Greeter",
		"package com.example;\npublic class Greeter { public static String greet(String n) { return \"hello \" + n; } }\n")
	octo.must(greeter, "deploy", "-DskipTests")
	// The same release again with other bytes: releases are immutable.
	writeFiles(t, greeter, map[string]string{"src/main/java/com/example/Other.java": "package com.example;\nclass Other {}\n"})
	if out := octo.mustFail(greeter, "deploy", "-DskipTests"); !strings.Contains(out, "409") {
		t.Fatalf("redeploy of a release: %s", tail(out, 3000))
	}
	mavenLibrary(t, greeter, "greeter", "1.1-SNAPSHOT", libs, "Greeter",
		"package com.example;\npublic class Greeter { public static String greet(String n) { return \"hi \" + n; } }\n")
	octo.must(greeter, "deploy", "-DskipTests")

	textutil := t.TempDir()
	for i, method := range []string{"shout", "mumble", "whisper"} {
		mavenLibrary(t, textutil, "textutil", "2.0-SNAPSHOT", libs, "TextUtil", fmt.Sprintf(
			"package com.example;\npublic class TextUtil { public static String %s(String s) { return s + \" (build %d)\"; } }\n", method, i+1))
		octo.must(textutil, "deploy", "-DskipTests")
	}
	code, meta := httpGet(t, s, libs+"/com/example/textutil/2.0-SNAPSHOT/maven-metadata.xml", tok)
	if code != 200 || !strings.Contains(meta, "<buildNumber>3</buildNumber>") {
		t.Fatalf("SNAPSHOT metadata: %d %s", code, meta)
	}
	ts := regexp.MustCompile(`<value>(2\.0-\d{8}\.\d{6}-3)</value>`).FindStringSubmatch(meta)
	if ts == nil {
		t.Fatalf("SNAPSHOT metadata without build 3: %s", meta)
	}
	// Retention keeps the newest two builds.
	code, listing := httpGet(t, s, libs+"/com/example/textutil/2.0-SNAPSHOT/", tok)
	if code != 200 || strings.Contains(listing, "-1.jar\"") || !strings.Contains(listing, "-2.jar\"") || !strings.Contains(listing, ts[1]+".jar\"") {
		t.Fatalf("SNAPSHOT listing after retention: %d %s", code, listing)
	}

	// A project that depends on the release and on the SNAPSHOT builds with
	// Packhub as its only remote repository; whisper is in the newest build.
	app := mavenApp(t, libs)
	octo.must(app, "package", "-DskipTests")
	classpath := strings.Join([]string{filepath.Join(app, "target", "classes"),
		filepath.Join(octo.local, "com/example/greeter/1.0/greeter-1.0.jar"),
		filepath.Join(octo.local, "com/example/textutil/2.0-SNAPSHOT/textutil-2.0-SNAPSHOT.jar")}, string(os.PathListSeparator))
	if out, err := exec.Command("java", "-cp", classpath, "com.example.App").CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "hello maven (build 3)" {
		t.Fatalf("run app: %v %s", err, out)
	}

	// dependency:get through OWNER/*, which reads every repository.
	octo.fresh()
	octo.must(work, mavenDependencyPlugin+":get", "-Dartifact=com.example:greeter:1.1-SNAPSHOT", "-Dtransitive=false",
		"-DremoteRepositories=packhub::default::"+s.URL+"/maven/octo/*")
	if matches, _ := filepath.Glob(filepath.Join(octo.local, "com/example/greeter/1.1-SNAPSHOT/greeter-1.1-SNAPSHOT.jar")); len(matches) != 1 {
		t.Fatalf("dependency:get through octo/* stored nothing")
	}

	// The REST API lists the packages, linked to their repository.
	var pkgs []struct {
		Name       string `json:"name"`
		Repository struct {
			FullName string `json:"full_name"`
		} `json:"repository"`
	}
	json.Unmarshal(restCall(t, s, "GET", "/user/packages?package_type=maven", tok), &pkgs)
	names := map[string]string{}
	for _, p := range pkgs {
		names[p.Name] = p.Repository.FullName
	}
	for _, n := range []string{"com.example.tool", "com.example.greeter", "com.example.textutil"} {
		if names[n] != "octo/libs" {
			t.Fatalf("REST packages: %+v", pkgs)
		}
	}

	// A REST delete of the release: the dependent build fails with a fresh
	// local repository, and passes again after the restore.
	id := mavenVersionID(t, s, tok, "com.example.greeter", "1.0")
	restCall(t, s, "DELETE", fmt.Sprintf("/user/packages/maven/com.example.greeter/versions/%d", id), tok)
	if code, body := httpGet(t, s, libs+"/com/example/greeter/maven-metadata.xml", tok); code != 200 || strings.Contains(body, "<version>1.0</version>") {
		t.Fatalf("metadata after delete: %d %s", code, body)
	}
	octo.fresh()
	if out := octo.mustFail(app, "package", "-DskipTests"); !strings.Contains(out, "greeter:jar:1.0") {
		t.Fatalf("build after delete: %s", tail(out, 3000))
	}
	restCall(t, s, "POST", fmt.Sprintf("/user/packages/maven/com.example.greeter/versions/%d/restore", id), tok)
	octo.fresh()
	octo.must(app, "package", "-DskipTests")

	// A read-only token cannot deploy.
	reader := newMavenUser(t, bin, s.Token("octo", "read:packages,repo"))
	mavenLibrary(t, textutil, "textutil", "2.0-SNAPSHOT", libs, "TextUtil",
		"package com.example;\npublic class TextUtil { public static String whisper(String s) { return s; } }\n")
	if out := reader.mustFail(textutil, "deploy", "-DskipTests"); !strings.Contains(out, "403") {
		t.Fatalf("deploy with a read-only token: %s", tail(out, 3000))
	}
	// It can read.
	reader.must(app, "package", "-DskipTests")

	// Anonymous reads: a public repository's package resolves, a private
	// one's is refused.
	octo.must(work, mavenDeployPlugin+":deploy-file", "-Dfile="+jar, "-DgroupId=com.example", "-DartifactId=open",
		"-Dversion=1.0", "-Dpackaging=jar", "-DrepositoryId=packhub", "-Durl="+s.URL+"/maven/octo/open")
	anon := newMavenUser(t, bin, "")
	anon.must(work, mavenDependencyPlugin+":get", "-Dartifact=com.example:open:1.0", "-Dtransitive=false",
		"-DremoteRepositories=packhub::default::"+s.URL+"/maven/octo/open")
	if !fileExists(filepath.Join(anon.local, "com/example/open/1.0/open-1.0.jar")) {
		t.Fatal("anonymous dependency:get of a public package stored nothing")
	}
	if out := anon.mustFail(work, mavenDependencyPlugin+":get", "-Dartifact=com.example:greeter:1.0", "-Dtransitive=false",
		"-DremoteRepositories=packhub::default::"+libs); !strings.Contains(out, "401") {
		t.Fatalf("anonymous dependency:get of a private package: %s", tail(out, 3000))
	}
}

// TestMavenUncleanPaths checks that paths with dot segments reach the
// Maven registry, which refuses them, instead of being redirected to
// their cleaned form, and that nothing is stored.
func TestMavenUncleanPaths(t *testing.T) {
	t.Parallel()
	eachDatabase(t, testMavenUncleanPaths)
}

func testMavenUncleanPaths(t *testing.T, db Database) {
	s := StartServer(t, db)
	s.Admin("user", "create", "octo")
	s.Admin("repo", "create", "octo/libs", "--visibility", "private")
	tok := s.Token("octo", "read:packages,write:packages,repo")
	for _, p := range []string{
		"/maven/octo/libs/com/example/../../../etc/1.0/passwd",
		"/maven/octo/libs/com/example/lib/1.0/../lib-1.0.jar",
		"/maven/octo/libs/com/./example/lib/1.0/lib-1.0.jar",
		"/maven/octo/libs/com//example/lib/1.0/lib-1.0.jar",
		"/maven/octo/libs/com/%2e%2e/lib/1.0/lib-1.0.jar",
		"/maven/octo/libs/com/example/lib/1.0/..%2F..%2Flib-1.0.jar",
	} {
		req, err := http.NewRequest("PUT", s.URL+p, strings.NewReader("jar"))
		if err != nil {
			t.Fatal(err)
		}
		req.SetBasicAuth("maven", tok)
		c := s.Client()
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest {
			t.Errorf("PUT %s: %d %s", p, res.StatusCode, b)
		}
	}
	var pkgs []json.RawMessage
	json.Unmarshal(restCall(t, s, "GET", "/user/packages?package_type=maven", tok), &pkgs)
	if len(pkgs) != 0 {
		t.Fatalf("packages after refused deploys: %s", pkgs)
	}
}
