package cloudauth

import (
	"github.com/alibabacloud-go/tea/dara"
	credential "github.com/aliyun/credentials-go/credentials"

	"github.com/idverify/fc-kyc/pkg/credentials"
)

// staticCredential hands one invocation's credentials to darabonba. It
// exists so that a single client serves every invocation: FC sends each
// request with its own STS triple, and building a credentials-go provider
// per request would be waste.
type staticCredential credentials.Credentials

var _ credential.Credential = staticCredential{}

func (s staticCredential) GetCredential() (*credential.CredentialModel, error) {
	m := &credential.CredentialModel{
		AccessKeyId:     dara.String(s.AccessKeyID),
		AccessKeySecret: dara.String(s.AccessKeySecret),
		Type:            dara.String("access_key"),
		ProviderName:    dara.String("static_ak"),
	}
	if s.SecurityToken != "" {
		m.SecurityToken = dara.String(s.SecurityToken)
		m.Type = dara.String("sts")
		m.ProviderName = dara.String("static_sts")
	}
	return m, nil
}

func (s staticCredential) GetAccessKeyId() (*string, error) { return dara.String(s.AccessKeyID), nil }
func (s staticCredential) GetAccessKeySecret() (*string, error) {
	return dara.String(s.AccessKeySecret), nil
}
func (s staticCredential) GetSecurityToken() (*string, error) {
	return dara.String(s.SecurityToken), nil
}
func (s staticCredential) GetBearerToken() *string { return dara.String("") }
func (s staticCredential) GetType() *string {
	m, _ := s.GetCredential()
	return m.Type
}
