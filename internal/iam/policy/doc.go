// Package policy owns the AWS IAM policy language as Bulkhead's data API
// needs it: Parse reads an identity or session policy written as AWS writes
// it and compiles it once; Evaluate decides a request against a role's
// identity policies and an optional session policy, as IAM decides for a
// role session in one account.
//
// It does not own where policies come from (roles, AssumeRole) nor which
// condition keys a request carries: the caller builds the Context —
// principal tags from the session, dynamodb:LeadingKeys from the request —
// and the evaluator fills in nothing. Resource-based policies, permissions
// boundaries, SCPs, Principal and cross-account rules are out of scope;
// Principal and NotPrincipal are parse errors, as in IAM identity policies.
//
// # Decision
//
//	explicit Deny in an identity or the session policy   -> denied (IdentityDeny, SessionDeny)
//	no Allow in the identity policies                    -> denied (NoIdentityAllow)
//	a session policy was passed and has no Allow         -> denied (NoSessionAllow)
//	otherwise                                            -> allowed
//
// A statement matches when its Action (or NotAction) matches, its Resource
// (or NotResource) matches, every policy variable it uses resolves, and
// every condition holds.
//
// # Matching
//
// Actions match case-insensitively; * and ? are wildcards. Resources match
// case-sensitively, and * crosses "/" and ":". StringLike matches as
// Resource does. ArnLike and ArnEquals (identical in IAM) match each of an
// ARN's first five colon-separated components on its own: a * there does
// not cross a colon. Key names compare case-insensitively.
//
// # Conditions
//
// AND across operators and keys, OR across a key's policy values (NOR for
// negated operators). A key absent from the request: positive operators are
// false, negated ones true, ...IfExists true, Null per its value,
// ForAllValues true (vacuously) and ForAnyValue false. A plain operator
// against a key with several request values: a positive operator holds if
// any value matches, a negated one if none does (so StringNotEquals is
// always exactly not StringEquals). IAM leaves this case to "use a set
// operator"; this reading grants nothing ForAnyValue would not.
//
// A request value the operator cannot read (a NumericLessThan value that is
// not a number, a Bool value that is neither true nor false, an IpAddress
// value that is not an address) makes the condition fail closed: false in
// an Allow statement, true in a Deny statement. BinaryEquals compares the
// request value's bytes with the base64-decoded policy value.
//
// # Policy variables
//
// Active only with Version 2012-10-17; without a Version (2008-10-17) they
// are literal text. ${key} takes the request's single value of key (a key
// with several values does not resolve); ${key, 'default'} falls back to
// default; ${*}, ${?} and ${$} are the literal characters. A value is
// substituted as literal text: a tenant tag "a*" does not act as a
// wildcard in StringLike or Resource. Variables are allowed in Resource
// after the fifth colon and in String and Arn condition values; elsewhere
// they are parse errors. A statement with a variable that does not resolve
// does not apply — neither its Allow nor its Deny — as in AWS; write a
// default, or an ...IfExists condition, where that matters for a Deny.
//
// # Performance
//
// Parse compiles every pattern; Evaluate allocates nothing (a request value
// an operator cannot read may cost one) and parses nothing but the request
// values of Numeric, Date, Bool and IpAddress conditions. Matching is linear
// in the value for the usual patterns and at worst the product of the
// pattern's and the value's lengths. A Policy is immutable and safe for
// concurrent use.
package policy
