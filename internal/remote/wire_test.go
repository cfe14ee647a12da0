package remote

import (
	"bytes"
	"strings"
	"testing"

	"github.com/ipcbench/ipcbench/results"
)

// The bounds of the sizes ipcbench measures (harness.minSize, maxSize).
const minSize, maxSize = 16, 64 << 20

func TestReplyChecks(t *testing.T) {
	for _, c := range []struct {
		name  string
		reply []byte
		want  string
	}{
		{"empty", nil, "did not answer"},
		{"http", []byte("HTTP/1.1 400 Bad Request\r\n\r\n"), "not as an ipcbench server"},
		{"huge body", append(append(WireMagic[:], 0, 1, 0, 0), 0xff, 0xff), "more than the 4096 allowed"},
		{"refusal", EncodeReply(StatusBusy, ReplyBody{Error: "go away"}), "the server refused: go away"},
		{"no facts", EncodeReply(StatusOK, ReplyBody{}), "no server facts"},
	} {
		_, err := ReadReply(bytes.NewReader(c.reply))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
	}
}

func FuzzDecodeHello(f *testing.F) {
	f.Add(Hello{Version: ProtocolVersion, Workload: results.PingPong, Size: 64}.Encode())
	f.Add(Hello{Version: ProtocolVersion, Workload: results.Stream, Verify: true, Size: maxSize}.Encode())
	f.Add([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n...."))
	f.Add(make([]byte, HelloSize))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := DecodeHello(b, minSize, maxSize)
		if err != nil {
			return
		}
		if h.Size < minSize || h.Size > maxSize || (h.Workload != results.PingPong && h.Workload != results.Stream) {
			t.Fatalf("accepted an out-of-bounds hello: %+v", h)
		}
		if !bytes.Equal(h.Encode(), b) {
			t.Fatalf("hello %+v does not encode back to its bytes", h)
		}
	})
}
