package policy

import "fmt"

// Cause says why a request was denied, in the terms of AWS's AccessDenied
// messages.
type Cause uint8

// The causes of a denial. The zero Cause belongs to an allowed request.
const (
	// NoIdentityAllow: no statement of an identity-based policy allows the
	// request (the implicit deny).
	NoIdentityAllow Cause = iota + 1
	// NoSessionAllow: the identity policies allow it, but the session
	// policy passed at AssumeRole does not.
	NoSessionAllow
	// IdentityDeny: a Deny statement of an identity-based policy matches.
	IdentityDeny
	// SessionDeny: a Deny statement of the session policy matches.
	SessionDeny
)

// Decision is the result of Evaluate.
type Decision struct {
	// Allowed reports whether the request may proceed.
	Allowed bool
	// Cause says why it may not; zero when Allowed.
	Cause Cause
	// Action is the request's action, which Reason names.
	Action string
}

// Reason returns the end of AWS's AccessDenied message for a denied
// request, such as "because no identity-based policy allows the
// dynamodb:GetItem action", and "" for an allowed one.
func (d Decision) Reason() string {
	switch d.Cause {
	case NoIdentityAllow:
		return "because no identity-based policy allows the " + d.Action + " action"
	case NoSessionAllow:
		return "because no session policy allows the " + d.Action + " action"
	case IdentityDeny:
		return "with an explicit deny in an identity-based policy"
	case SessionDeny:
		return "with an explicit deny in a session policy"
	}
	return ""
}

// AccessDeniedMessage returns AWS's message for a denied request:
//
//	User: arn:aws:sts::123456789012:assumed-role/R/s is not authorized to
//	perform: dynamodb:GetItem on resource: arn:aws:dynamodb:...:table/T
//	because no identity-based policy allows the dynamodb:GetItem action
//
// principal is the caller's ARN. It returns "" when d allows the request.
func AccessDeniedMessage(principal string, req *Request, d Decision) string {
	if d.Allowed || req == nil {
		return ""
	}
	return fmt.Sprintf("User: %s is not authorized to perform: %s on resource: %s %s", principal, req.Action, req.Resource, d.Reason())
}

// Evaluate decides req as IAM does for a role session in one account:
//
//  1. a matching Deny statement in any identity policy or in the session
//     policy denies (explicit deny wins);
//  2. otherwise some identity policy must have a matching Allow statement;
//  3. and, when session is not nil, the session policy must too;
//  4. otherwise the request is denied (implicit deny).
//
// Nil entries of identity are skipped. Evaluate does not panic: a nil
// request, and any failure inside evaluation, deny with NoIdentityAllow.
func Evaluate(identity []*Policy, session *Policy, req *Request) (d Decision) {
	if req == nil {
		return Decision{Cause: NoIdentityAllow}
	}
	defer func() {
		if recover() != nil {
			d = Decision{Cause: NoIdentityAllow, Action: req.Action}
		}
	}()
	deny := func(c Cause) Decision { return Decision{Cause: c, Action: req.Action} }
	for _, p := range identity {
		if p != nil && anyApplies(p.denies, req) {
			return deny(IdentityDeny)
		}
	}
	if session != nil && anyApplies(session.denies, req) {
		return deny(SessionDeny)
	}
	allowed := false
	for _, p := range identity {
		if p != nil && anyApplies(p.allows, req) {
			allowed = true
			break
		}
	}
	if !allowed {
		return deny(NoIdentityAllow)
	}
	if session != nil && !anyApplies(session.allows, req) {
		return deny(NoSessionAllow)
	}
	return Decision{Allowed: true, Action: req.Action}
}

func anyApplies(stmts []*statement, req *Request) bool {
	for _, s := range stmts {
		if s.applies(req) {
			return true
		}
	}
	return false
}

// inlineVariables is how many variables a statement may use before
// resolving them costs an allocation.
const inlineVariables = 8

// applies reports whether the statement matches req: its action, its
// resource, every variable it uses resolved, and every condition true.
// A condition that cannot be decided (a request value of the wrong type)
// counts against an Allow and for a Deny, so that evaluation fails closed.
func (s *statement) applies(req *Request) bool {
	if s.matchAction(req.Action) == s.notAction {
		return false
	}
	var (
		valueBuf    [inlineVariables]string
		resolvedBuf [inlineVariables]bool
		b           bindings
	)
	if n := len(s.vars.keys); n > 0 {
		if n <= inlineVariables {
			b.values, b.resolved = valueBuf[:n], resolvedBuf[:n]
		} else {
			b.values, b.resolved = make([]string, n), make([]bool, n)
		}
		for i, key := range s.vars.keys {
			v, ok := req.Context.lookup(key, s.vars.ascii[i])
			if !ok && s.vars.required[i] {
				// AWS: a variable that cannot be resolved makes the
				// statement not apply, whatever its Effect.
				return false
			}
			b.values[i], b.resolved[i] = v, ok
		}
	}
	if s.matchResource(req.Resource, &b) == s.notResource {
		return false
	}
	for i := range s.conditions {
		switch s.conditions[i].eval(&req.Context, &b) {
		case outFalse:
			return false
		case outFailed:
			if !s.deny {
				return false
			}
		}
	}
	return true
}

func (s *statement) matchAction(action string) bool {
	for i := range s.actions {
		if s.actions[i].match(action, nil, true, false) {
			return true
		}
	}
	return false
}

func (s *statement) matchResource(resource string, b *bindings) bool {
	for i := range s.resources {
		if s.resources[i].match(resource, b, false, false) {
			return true
		}
	}
	return false
}
