package sts

import "encoding/xml"

// The XML documents STS answers with. Each response element carries STS's
// namespace; the children inherit it.

// response is a successful answer; the request id goes in last.
type response interface {
	withRequestID(id string) response
}

type responseMetadata struct {
	RequestID string `xml:"RequestId"`
}

type assumeRoleResponse struct {
	XMLName  xml.Name         `xml:"https://sts.amazonaws.com/doc/2011-06-15/ AssumeRoleResponse"`
	Result   assumeRoleResult `xml:"AssumeRoleResult"`
	Metadata responseMetadata `xml:"ResponseMetadata"`
}

func (r *assumeRoleResponse) withRequestID(id string) response {
	r.Metadata.RequestID = id
	return r
}

type assumeRoleResult struct {
	AssumedRoleUser         assumedRoleUser `xml:"AssumedRoleUser"`
	Credentials             xmlCredentials  `xml:"Credentials"`
	PackedPolicySize        *int            `xml:"PackedPolicySize,omitempty"`
	SessionTokenSize        int             `xml:"SessionTokenSize"`
	SessionTokenUtilization int             `xml:"SessionTokenUtilization"`
}

type assumedRoleUser struct {
	Arn           string `xml:"Arn"`
	AssumedRoleID string `xml:"AssumedRoleId"`
}

type xmlCredentials struct {
	AccessKeyID     string `xml:"AccessKeyId"`
	SecretAccessKey string `xml:"SecretAccessKey"`
	SessionToken    string `xml:"SessionToken"`
	Expiration      string `xml:"Expiration"` // RFC 3339, UTC
}

type getCallerIdentityResponse struct {
	XMLName  xml.Name         `xml:"https://sts.amazonaws.com/doc/2011-06-15/ GetCallerIdentityResponse"`
	Result   callerIdentity   `xml:"GetCallerIdentityResult"`
	Metadata responseMetadata `xml:"ResponseMetadata"`
}

func (r *getCallerIdentityResponse) withRequestID(id string) response {
	r.Metadata.RequestID = id
	return r
}

type callerIdentity struct {
	Arn     string `xml:"Arn"`
	UserID  string `xml:"UserId"`
	Account string `xml:"Account"`
}

// errorResponse is STS's error document:
// <ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>.
type errorResponse struct {
	XMLName   xml.Name    `xml:"https://sts.amazonaws.com/doc/2011-06-15/ ErrorResponse"`
	Error     errorDetail `xml:"Error"`
	RequestID string      `xml:"RequestId"`
}

type errorDetail struct {
	Type    string `xml:"Type"` // Sender or Receiver
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}
