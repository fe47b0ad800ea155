package fcrt

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/internal/e2e"
)

// The server refuses headers FC itself would refuse (8 KB) and still serves
// a request whose headers, a JWT included, fit.
func TestServeBoundsRequestHeaders(t *testing.T) {
	o, _ := testOptions()
	addr := serve(t, viaFunction(), o)

	status := func(headerBytes int) int {
		return e2e.Post(t, "http://"+addr+"/", map[string]string{"Authorization": "Bearer " + strings.Repeat("a", headerBytes)}, `{}`).Status
	}
	assert.NotEqual(t, http.StatusRequestHeaderFieldsTooLarge, status(4<<10), "a 4 KB token fits")
	assert.Equal(t, http.StatusRequestHeaderFieldsTooLarge, status(16<<10))
}

// A client that starts a request and never finishes its headers (slowloris)
// is cut off, instead of holding a connection and a goroutine for ever.
func TestServeCutsOffSlowHeaders(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the 10 s header timeout")
	}
	o, _ := testOptions()
	addr := serve(t, viaFunction(), o)

	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Write([]byte("POST / HTTP/1.1\r\nHost: x\r\nX-Slow: "))
	require.NoError(t, err)
	start := time.Now()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(60*time.Second)))
	_, err = io.ReadAll(c) // returns when the server closes the connection
	require.NoError(t, err, "the server closed the connection before our own 60 s deadline")
	assert.GreaterOrEqual(t, time.Since(start), 5*time.Second, "not before the header timeout")
}
