package sts

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/bulkhead-dev/bulkhead/internal/sigv4"
)

// Caller is who signed an authenticated request: the admin key, or a session.
type Caller struct {
	// Admin is true for the admin key, which may do anything.
	Admin       bool
	AccessKeyID string
	Account     string
	// ARN is arn:aws:iam::<account>:root for the admin key and
	// arn:aws:sts::<account>:assumed-role/<role>/<session name> for a session.
	ARN string
	// UserID is the account id for the admin key and <role id>:<session
	// name> for a session, as GetCallerIdentity reports them.
	UserID string
	// Session is the caller's session; nil for the admin key.
	Session *Session
}

// Authenticator authenticates SigV4-signed requests to any Bulkhead service
// that speaks an AWS protocol (STS, the DynamoDB-compatible data API): signed
// with the admin key, or with temporary credentials this package issued. Its
// fields are read, never written, so one Authenticator serves concurrent
// requests if its functions are safe to call concurrently.
type Authenticator struct {
	Region    string // the credential scope's region must equal it
	AccountID string // the account of the admin key, for its Caller
	// Admin returns the admin key's secret for its access key id, and false
	// for any other id (adminkey.Key.Secret satisfies it). nil: no admin key.
	Admin func(accessKeyID string) (secret string, ok bool)
	// Issuer opens session tokens. nil: no temporary credentials.
	Issuer *Issuer
	// Check, when set, is called with every authenticated session; an error
	// refuses the request as if the token were invalid. The server refuses
	// sessions of destroyed environments and of deleted or suspended tenants
	// through it.
	Check   func(*Session) error
	MaxSkew time.Duration    // zero or negative: sigv4.DefaultMaxSkew
	Now     func() time.Time // nil: time.Now
}

// Authenticate verifies r, whose body the caller has read into body, as a
// SigV4 request for service in a.Region, and returns its signer.
//
// An access key id starting with ASIA is temporary: the request must carry,
// and sign, X-Amz-Security-Token, a token issued with that very key id; the
// signature is checked with the secret the token seals. The admin key must
// not carry a token.
//
// The error, compared with errors.Is, is of one of the sigv4 kinds
// (ErrMissingAuthentication, ErrIncompleteSignature, ErrUnrecognizedClient,
// ErrSignatureMismatch, ErrSignatureExpired) or ErrInvalidToken or
// ErrExpiredToken; ForSTS and ForDynamoDB turn it into each protocol's error.
func (a *Authenticator) Authenticate(r *http.Request, body []byte, service string) (Caller, error) {
	now := a.now()
	tokens := r.Header.Values("X-Amz-Security-Token")
	if len(tokens) > 1 {
		return Caller{}, fmt.Errorf("%w: X-Amz-Security-Token is repeated", ErrInvalidToken)
	}
	token := ""
	if len(tokens) == 1 {
		token = tokens[0]
	}
	var (
		admin   bool
		session Session
		openErr error
	)
	v := sigv4.Verifier{
		Service: service,
		Region:  a.Region,
		MaxSkew: a.MaxSkew,
		Now:     func() time.Time { return now },
		Secret: func(accessKeyID string) (string, bool) {
			if a.Admin != nil {
				if secret, ok := a.Admin(accessKeyID); ok {
					admin = true
					return secret, true
				}
			}
			if !strings.HasPrefix(accessKeyID, "ASIA") || a.Issuer == nil {
				return "", false
			}
			if token == "" {
				openErr = fmt.Errorf("%w: temporary access key %s without X-Amz-Security-Token", ErrInvalidToken, accessKeyID)
				return "", false
			}
			s, secret, err := a.Issuer.Open(accessKeyID, token, now)
			if err != nil {
				openErr = err
				return "", false
			}
			session = s
			return secret, true
		},
	}
	id, err := v.Verify(r, body)
	if err != nil {
		if openErr != nil && errors.Is(err, sigv4.ErrUnrecognizedClient) {
			return Caller{}, openErr
		}
		return Caller{}, err
	}
	if admin {
		if token != "" {
			return Caller{}, fmt.Errorf("%w: a long-term access key with a session token", ErrInvalidToken)
		}
		return Caller{
			Admin:       true,
			AccessKeyID: id.AccessKeyID,
			Account:     a.AccountID,
			ARN:         "arn:aws:iam::" + a.AccountID + ":root",
			UserID:      a.AccountID,
		}, nil
	}
	// Verify covers every x-amz-* header, so the token is signed; checking
	// again costs nothing and keeps this safe if that rule ever changes.
	if id.SessionToken != token {
		return Caller{}, fmt.Errorf("%w: X-Amz-Security-Token is not signed", ErrInvalidToken)
	}
	if a.Check != nil {
		if err := a.Check(&session); err != nil {
			return Caller{}, fmt.Errorf("%w: session %s refused: %w", ErrInvalidToken, session.ID, err)
		}
	}
	return Caller{
		AccessKeyID: id.AccessKeyID,
		Account:     session.Account,
		ARN:         session.AssumedRoleARN(),
		UserID:      session.AssumedRoleID(),
		Session:     &session,
	}, nil
}

func (a *Authenticator) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// AWS's words for token failures, the same in every protocol.
const (
	msgInvalidToken = "The security token included in the request is invalid."
	msgExpiredToken = "The security token included in the request is expired"
)

// ForSTS translates an Authenticate error into STS's error code, message and
// HTTP status (AWS Query protocol). Any other error is an InternalFailure.
func ForSTS(err error) (code, message string, status int) {
	switch {
	case errors.Is(err, ErrExpiredToken):
		return "ExpiredToken", msgExpiredToken, http.StatusForbidden
	case errors.Is(err, ErrInvalidToken), errors.Is(err, sigv4.ErrUnrecognizedClient):
		return "InvalidClientTokenId", msgInvalidToken, http.StatusForbidden
	case errors.Is(err, sigv4.ErrMissingAuthentication):
		return "MissingAuthenticationToken", "Request is missing Authentication Token", http.StatusForbidden
	case errors.Is(err, sigv4.ErrIncompleteSignature):
		return "IncompleteSignature", sigv4Message(err), http.StatusBadRequest
	case errors.Is(err, sigv4.ErrSignatureMismatch), errors.Is(err, sigv4.ErrSignatureExpired):
		return "SignatureDoesNotMatch", sigv4Message(err), http.StatusForbidden
	}
	return "InternalFailure", "The request processing has failed because of an unknown error, exception or failure.", http.StatusInternalServerError
}

// ForDynamoDB translates an Authenticate error into DynamoDB's exception
// name, message and HTTP status (awsJson1_0: every client error is a 400).
// Any other error is an InternalServerError.
func ForDynamoDB(err error) (code, message string, status int) {
	switch {
	case errors.Is(err, ErrExpiredToken):
		return "ExpiredTokenException", msgExpiredToken, http.StatusBadRequest
	case errors.Is(err, ErrInvalidToken), errors.Is(err, sigv4.ErrUnrecognizedClient):
		return "UnrecognizedClientException", msgInvalidToken, http.StatusBadRequest
	case errors.Is(err, sigv4.ErrMissingAuthentication):
		return "MissingAuthenticationTokenException", "Request is missing Authentication Token", http.StatusBadRequest
	case errors.Is(err, sigv4.ErrIncompleteSignature):
		return "IncompleteSignatureException", sigv4Message(err), http.StatusBadRequest
	case errors.Is(err, sigv4.ErrSignatureMismatch), errors.Is(err, sigv4.ErrSignatureExpired):
		return "InvalidSignatureException", sigv4Message(err), http.StatusBadRequest
	}
	return "InternalServerError", "Internal server error", http.StatusInternalServerError
}

// sigv4Message is the AWS message a *sigv4.Error carries.
func sigv4Message(err error) string {
	var e *sigv4.Error
	if errors.As(err, &e) {
		return e.Message
	}
	return err.Error()
}
