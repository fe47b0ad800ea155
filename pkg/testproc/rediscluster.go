package testproc

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// ErrNoRedis says that redis-server or redis-cli is not installed; a test
// that gets it skips with its message.
var ErrNoRedis = errors.New("redis-server and redis-cli are not on PATH: install them (Debian: apt-get install redis-server, which brings redis-tools) to run the Redis Cluster tests")

// RedisCluster is a real Redis Cluster of three masters, no replicas, on
// loopback, each node in its own directory with no persistence. Starting
// one takes a few seconds, so a package starts it once (in TestMain, or
// behind a sync.Once) and every test uses it under its own key prefix.
type RedisCluster struct {
	// URL is the cluster's STORE_URL:
	// redis+cluster://127.0.0.1:p1?addr=127.0.0.1:p2&addr=127.0.0.1:p3.
	URL string
	// Addrs are the masters, host:port.
	Addrs []string

	procs []*exec.Cmd
	dones []chan error
	outs  []*Buffer
}

// StartRedisCluster starts three redis-server --cluster-enabled yes on free
// loopback ports (client and bus ports both chosen free), joins them with
// redis-cli --cluster create and waits until every node reports
// cluster_state:ok. dir holds the nodes' files. ErrNoRedis when the
// binaries are missing. Close stops the nodes.
func StartRedisCluster(dir string) (*RedisCluster, error) {
	server, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, ErrNoRedis
	}
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		return nil, ErrNoRedis
	}
	c := &RedisCluster{}
	ok := false
	defer func() {
		if !ok {
			c.Close()
		}
	}()
	for i := range 3 {
		nodeDir := filepath.Join(dir, fmt.Sprintf("node%d", i))
		if err := os.MkdirAll(nodeDir, 0o700); err != nil {
			return nil, err
		}
		for attempt := 1; ; attempt++ { // a port taken before the bind: others (as Redis)
			err := c.startNode(server, nodeDir)
			if err == nil {
				break
			}
			if !portTaken(err) || attempt == 5 {
				return nil, err
			}
		}
	}
	args := append([]string{"--cluster", "create"}, c.Addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.Command(cli, args...).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("testproc: redis-cli --cluster create: %w\n%s", err, out)
	}
	for i, addr := range c.Addrs {
		err := waitFor(func() error {
			info, err := exec.Command(cli, "-h", "127.0.0.1", "-p", strings.TrimPrefix(addr, "127.0.0.1:"), "cluster", "info").Output()
			if err != nil {
				return err
			}
			if !strings.Contains(string(info), "cluster_state:ok") {
				return errors.New("cluster_state is not ok yet")
			}
			return nil
		}, c.dones[i])
		if err != nil {
			return nil, fmt.Errorf("testproc: cluster node %s: %w", addr, err)
		}
	}
	c.URL = "redis+cluster://" + c.Addrs[0] + "?addr=" + c.Addrs[1] + "&addr=" + c.Addrs[2]
	ok = true
	return c, nil
}

// startNode runs one cluster node on free ports and waits until it answers
// as itself (servedBy); a node that does not is stopped.
func (c *RedisCluster) startNode(server, nodeDir string) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	bus, err := freePort()
	if err != nil {
		return err
	}
	cmd := exec.Command(server,
		"--bind", "127.0.0.1", "--port", port, "--cluster-port", bus, "--dir", nodeDir,
		"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000",
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning",
	)
	out := &Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("testproc: start redis-server (cluster node): %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	addr := "127.0.0.1:" + port
	if err := waitFor(func() error { return servedBy(addr, cmd.Process.Pid) }, done); err != nil {
		_ = cmd.Process.Kill()
		<-done
		return fmt.Errorf("testproc: cluster node %s: %w\n%s", addr, err, out.String())
	}
	c.procs, c.dones, c.outs = append(c.procs, cmd), append(c.dones, done), append(c.outs, out)
	c.Addrs = append(c.Addrs, addr)
	return nil
}

// Close stops every node.
func (c *RedisCluster) Close() {
	for i, p := range c.procs {
		_ = p.Process.Kill()
		<-c.dones[i]
	}
	c.procs = nil
}

// waitFor polls check for up to 10 s, and gives up at once if the process
// whose exit done reports has exited.
func waitFor(check func() error, done chan error) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := check()
		if err == nil {
			return nil
		}
		select {
		case werr := <-done:
			done <- werr // keep it for Close
			return fmt.Errorf("exited: %v", werr)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready within 10s: %w", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return fmt.Sprint(l.Addr().(*net.TCPAddr).Port), nil
}
