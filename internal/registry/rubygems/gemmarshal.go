package rubygems

import "sort"

// RubyGems' objects as Marshal writes them: what Gem::Specification._load,
// Gem::Version#marshal_load and the rest read back.

// versionValue is a Gem::Version.
func versionValue(v string) rbValue {
	return rbUserMarshal{Class: "Gem::Version", Data: rbArray{str(v)}}
}

// requirementValue is a Gem::Requirement of [operator, version] pairs.
func requirementValue(reqs [][2]string) rbValue {
	if len(reqs) == 0 {
		reqs = [][2]string{{">=", "0"}}
	}
	list := make(rbArray, len(reqs))
	for i, r := range reqs {
		list[i] = rbArray{str(r[0]), versionValue(r[1])}
	}
	return rbUserMarshal{Class: "Gem::Requirement", Data: rbArray{list}}
}

// dependencyValue is a Gem::Dependency.
func dependencyValue(d gemDep) rbValue {
	req := requirementValue(d.Requirements)
	prerelease := false
	for _, r := range d.Requirements {
		if hasLetter(r[1]) {
			prerelease = true
		}
	}
	return rbObject{Class: "Gem::Dependency", Ivars: []rbPair{
		{rbSymbol("@name"), str(d.Name)},
		{rbSymbol("@requirement"), req},
		{rbSymbol("@type"), rbSymbol(d.Type)},
		{rbSymbol("@prerelease"), rbBool(prerelease)},
		{rbSymbol("@version_requirements"), req},
	}}
}

func hasLetter(s string) bool {
	for i := 0; i < len(s); i++ {
		if isLetter(s[i]) {
			return true
		}
	}
	return false
}

func isLetter(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }

// platformValue is the platform as Gem::Specification keeps it: the
// string "ruby", or a Gem::Platform.
func platformValue(name string) rbValue {
	p, ok := parsePlatform(name)
	if !ok {
		return str(rubyPlatform)
	}
	return rbObject{Class: "Gem::Platform", Ivars: []rbPair{
		{rbSymbol("@cpu"), strOrNil(p.CPU)},
		{rbSymbol("@os"), strOrNil(p.OS)},
		{rbSymbol("@version"), strOrNil(p.Version)},
	}}
}

// tupleValue is an entry of specs.4.8: [name, Gem::Version, platform].
func tupleValue(s *gemSpec) rbValue {
	return rbArray{str(s.Name), versionValue(s.Version), str(s.Platform)}
}

// specValue is a Gem::Specification, as Gem::Specification#_dump writes
// it: its fields in an array, marshalled on their own.
func specValue(s *gemSpec) rbValue {
	deps := make(rbArray, len(s.Dependencies))
	for i, d := range s.Dependencies {
		deps[i] = dependencyValue(d)
	}
	var email rbValue = rbNil{}
	switch len(s.Email) {
	case 0:
	case 1:
		email = str(s.Email[0])
	default:
		email = strArray(s.Email)
	}
	meta := rbHash{}
	keys := make([]string, 0, len(s.Metadata))
	for k := range s.Metadata {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		meta = append(meta, rbPair{str(k), str(s.Metadata[k])})
	}
	rgv := s.RubyGemsVersion
	if rgv == "" {
		rgv = "0"
	}
	sv := s.SpecificationVersion
	if sv == 0 {
		sv = 4
	}
	orig := s.OriginalPlatform
	if orig == "" {
		orig = s.Platform
	}
	fields := rbArray{
		str(rgv),
		rbInt(sv),
		str(s.Name),
		versionValue(s.Version),
		rbTime(s.Date),
		str(s.Summary),
		requirementValue(s.RequiredRuby),
		requirementValue(s.RequiredRubyGems),
		str(orig),
		deps,
		str(""), // rubyforge_project
		email,
		strArray(s.Authors),
		strOrNil(s.Description),
		strOrNil(s.Homepage),
		rbBool(true), // has_rdoc
		platformValue(s.Platform),
		strArray(s.Licenses),
		meta,
	}
	return rbUserDef{Class: "Gem::Specification", Data: marshal(fields)}
}

// dependencyInfo is one entry of the dependency API: a platform gem with
// its runtime dependencies as [name, requirement] pairs.
func dependencyInfo(s *gemSpec) rbValue {
	deps := rbArray{}
	for _, d := range s.runtimeDeps() {
		deps = append(deps, rbArray{str(d.Name), str(requirementString(d.Requirements))})
	}
	return rbHash{
		{rbSymbol("name"), str(s.Name)},
		{rbSymbol("number"), str(s.Version)},
		{rbSymbol("platform"), str(s.Platform)},
		{rbSymbol("dependencies"), deps},
	}
}
