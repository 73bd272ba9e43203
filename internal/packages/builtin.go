package packages

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/packhub/packhub/internal/packages/nugetver"
)

// The package types GitHub Packages has, as specs. The server hands them
// to the Service; a test may add types of its own.

// ContainerSpec is the OCI container registry's type (ghcr.io).
func ContainerSpec() Spec {
	return Spec{
		Type:                TypeContainer,
		Scoping:             Granular,
		LastVersion:         LastTaggedVersionRefused,
		RegistryLastVersion: LastVersionAllowed,
		Metadata:            tagsMetadata("container"),
		PageOnOwner:         true,
		WebhookType:         "CONTAINER",
		FileURL: func(base, owner string, pkg *Package, _ *Version, f *File) string {
			return base + "/v2/" + strings.ToLower(owner) + "/" + pkg.Name + "/blobs/" + f.Digest
		},
		InstallCommand: func(host, owner string, pkg *Package, v *VersionInfo) string {
			ref := host + "/" + strings.ToLower(owner) + "/" + pkg.Name
			if len(v.Tags) > 0 {
				return "docker pull " + ref + ":" + v.Tags[0]
			}
			return "docker pull " + ref + "@" + v.Name
		},
	}
}

// DockerSpec is the legacy docker registry's type (docker.pkg.github.com),
// scoped to a repository.
func DockerSpec() Spec {
	return Spec{
		Type:                TypeDocker,
		Scoping:             RepositoryScoped,
		LastVersion:         LastTaggedVersionRefused,
		RegistryLastVersion: LastVersionAllowed,
		Metadata:            tagsMetadata("docker"),
	}
}

// NpmSpec is the npm registry's type.
func NpmSpec() Spec {
	return Spec{
		Type:                TypeNpm,
		Scoping:             Granular,
		LastVersion:         LastVersionRefused,
		RegistryLastVersion: LastVersionDeletesPackage,
		FileURL: func(base, owner string, pkg *Package, _ *Version, f *File) string {
			return base + "/npm/@" + url.PathEscape(owner) + "/" + url.PathEscape(pkg.Name) + "/-/" + url.PathEscape(f.Name)
		},
		InstallCommand: func(_, owner string, pkg *Package, v *VersionInfo) string {
			return "npm install @" + owner + "/" + pkg.Name + "@" + v.Name
		},
	}
}

// MavenSpec is the Apache Maven registry's type, scoped to a repository.
func MavenSpec() Spec {
	return Spec{
		Type:                TypeMaven,
		Scoping:             RepositoryScoped,
		LastVersion:         LastVersionRefused,
		RegistryLastVersion: LastVersionRefused,
		NormalizeVersion:    normalizeMavenVersion,
		CompareVersions:     CompareMavenVersions,
	}
}

// RubyGemsSpec is the RubyGems registry's type. Versions are
// Gem::Version's, canonical as it writes them ("1.0-rc1" is "1.0.pre.rc1")
// and in its order; a yank may take a gem's last version and keep the
// gem, as rubygems.org does.
func RubyGemsSpec() Spec {
	return Spec{
		Type:                TypeRubyGems,
		Scoping:             Granular,
		LastVersion:         LastVersionRefused,
		RegistryLastVersion: LastVersionAllowed,
		NormalizeVersion:    NormalizeGemVersion,
		CompareVersions:     CompareGemVersions,
	}
}

// NuGetSpec is the NuGet registry's type. Versions follow NuGet's SemVer
// 2.0.0 rules (internal/packages/nugetver): 1.0 is 1.0.0, build metadata is
// dropped, and a version's name is its normalised form in lower case, so
// that 1.0.0-Beta and 1.0.0-beta are one version.
func NuGetSpec() Spec {
	return Spec{
		Type:                TypeNuGet,
		Scoping:             Granular,
		LastVersion:         LastVersionRefused,
		RegistryLastVersion: LastVersionAllowed,
		NormalizeVersion: func(name string) (string, error) {
			v, err := nugetver.Parse(name)
			if err != nil {
				return "", Wrap(KindInvalid, fmt.Sprintf("%q is not a valid NuGet version", name), err)
			}
			return v.Canonical(), nil
		},
		CompareVersions: nugetver.CompareStrings,
	}
}

// BuiltinSpecs returns the six types GitHub's REST API knows, in the order
// of its enum.
func BuiltinSpecs() *Specs {
	return MustSpecs(NpmSpec(), MavenSpec(), RubyGemsSpec(), DockerSpec(), NuGetSpec(), ContainerSpec())
}

// tagsMetadata renders a version's tags under key, as GitHub does for
// container and docker images: {"container": {"tags": [...]}}.
func tagsMetadata(key string) func(v *VersionInfo) (string, any) {
	return func(v *VersionInfo) (string, any) {
		tags := v.Tags
		if tags == nil {
			tags = []string{}
		}
		return key, struct {
			Tags []string `json:"tags"`
		}{tags}
	}
}
