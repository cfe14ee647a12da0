package ipc

import (
	"net"
	"path/filepath"
	"testing"
	"time"
)

// TestNetListenerForgetsClosedSockets: a listener that accepts thousands of
// short connections (workload connect) keeps no record of those already
// closed, but still shuts down the ones that are open when it closes.
func TestNetListenerForgetsClosedSockets(t *testing.T) {
	for _, mode := range []IOMode{IORaw, IOGo} {
		t.Run(string(mode), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "sock")
			ln, err := net.Listen("unix", path)
			if err != nil {
				t.Fatal(err)
			}
			l, err := NewNetListener(ln, Endpoint{Addr: path}, mode, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			nl := l.(*NetListener)
			accept := func() (Conn, net.Conn) {
				c, err := net.Dial("unix", path)
				if err != nil {
					t.Fatal(err)
				}
				conn, err := l.Accept(time.Now().Add(5 * time.Second))
				if err != nil {
					t.Fatal(err)
				}
				return conn, c
			}
			for i := 0; i < 2000; i++ {
				conn, c := accept()
				conn.Close()
				c.Close()
			}
			if n := len(nl.accepted); n > 200 {
				t.Errorf("after 2000 connections accepted and closed the listener still holds %d of them", n)
			}
			conn, c := accept()
			defer c.Close()
			done := make(chan error, 1)
			go func() {
				frame := make([]byte, 16)
				done <- conn.Recv(frame)
			}()
			time.Sleep(20 * time.Millisecond)
			l.Close()
			select {
			case err := <-done:
				if err == nil {
					t.Error("Recv on a socket the listener shut down returned a message")
				}
			case <-time.After(5 * time.Second):
				t.Fatal("closing the listener did not wake a Recv on a socket it accepted")
			}
			conn.Close()
		})
	}
}
