package store_test

import (
	"testing"

	"github.com/idverify/fc-kyc/pkg/store/storetest"
	"github.com/idverify/fc-kyc/pkg/testproc"
)

func TestFileStarts(t *testing.T) { storetest.RunStarts(t, openFile) }

func TestRedisStarts(t *testing.T) { storetest.RunStarts(t, redisOpener(testproc.Redis(t))) }
