module github.com/idverify/fc-kyc

go 1.26

require (
	github.com/alibabacloud-go/darabonba-openapi/v2 v2.1.13 // indirect
	github.com/alibabacloud-go/tea v1.5.4 // indirect
	github.com/aliyun/credentials-go v1.4.14 // indirect
	github.com/aws/aws-lambda-go v1.55.1 // indirect
	github.com/stretchr/testify v1.12.1 // indirect
)
