package restapi

// ParsePolicyForTest exposes the policy body parser to the fuzz test.
var ParsePolicyForTest = parsePolicy
