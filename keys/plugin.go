package keys

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"time"
)

// The signer-plugin protocol (docs/signer-plugins.md): cnabsec runs
// cnabsec-signer-NAME from PATH, writes one JSON PluginRequest to its stdin,
// and reads one JSON PluginResponse from its stdout. Each call is bounded in
// time and in bytes; a signature is checked against the key the plugin
// described before it is used.

// PluginProtocol is the protocol version cnabsec speaks.
const PluginProtocol = 1

// Plugin methods.
const (
	MethodDescribeKey = "describe-key"
	MethodSign        = "sign"
	MethodGenerateKey = "generate-key"
)

// PluginRequest is what a plugin reads on stdin.
type PluginRequest struct {
	Protocol int    `json:"protocol"`
	Method   string `json:"method"`
	// Key is the key reference as given (plugin:NAME?... or pkcs11:...).
	Key string `json:"key"`
	// For sign: the key's scheme (from describe-key), the hash algorithm,
	// the data to sign (base64) and its digest under Hash (hex).
	Scheme string `json:"scheme,omitempty"`
	Hash   string `json:"hash,omitempty"`
	Data   string `json:"data,omitempty"`
	Digest string `json:"digest,omitempty"`
	// For generate-key: ed25519, ecdsa-p256 or rsa-3072.
	KeyType string `json:"keyType,omitempty"`
}

// PluginResponse is what a plugin writes on stdout.
type PluginResponse struct {
	Protocol int `json:"protocol"`
	// PublicKey is the PKIX PEM public key (describe-key, generate-key).
	PublicKey string `json:"publicKey,omitempty"`
	// Signature is base64, in the key's scheme (sign).
	Signature string       `json:"signature,omitempty"`
	Error     *PluginError `json:"error,omitempty"`
}

// PluginError is a plugin's refusal.
type PluginError struct {
	Message string `json:"message"`
}

// ErrPlugin is returned when a plugin fails, refuses, times out, or answers
// something that is not a valid answer.
var ErrPlugin = errors.New("signer plugin failed")

// Plugin limits.
const (
	// DefaultPluginTimeout bounds one plugin call (a token may wait for a touch).
	DefaultPluginTimeout = 60 * time.Second
	// maxPluginOutput bounds a plugin's answer (stdout).
	maxPluginOutput = 1 << 20
	// MaxPluginData bounds the data sent to be signed.
	MaxPluginData = 256 << 20
)

// PluginSigner is a Signer whose key is held by a signer plugin.
type PluginSigner struct {
	ref     *Ref
	program string
	pub     *PublicKey
	timeout time.Duration
}

// OpenPlugin finds the plugin serving ref (cnabsec-signer-NAME on PATH) and
// asks it for the public key (describe-key). timeout bounds each call (0:
// DefaultPluginTimeout).
func OpenPlugin(ctx context.Context, ref *Ref, timeout time.Duration) (*PluginSigner, error) {
	p, err := pluginFor(ref, timeout)
	if err != nil {
		return nil, err
	}
	resp, err := p.call(ctx, &PluginRequest{Method: MethodDescribeKey})
	if err != nil {
		return nil, err
	}
	if p.pub, err = p.publicKey(resp); err != nil {
		return nil, err
	}
	return p, nil
}

// GenerateInPlugin asks the plugin serving ref to create the key it names
// (generate-key; a pkcs11: URI: a key pair on the token) and returns it.
func GenerateInPlugin(ctx context.Context, ref *Ref, keyType string, timeout time.Duration) (*PluginSigner, error) {
	p, err := pluginFor(ref, timeout)
	if err != nil {
		return nil, err
	}
	resp, err := p.call(ctx, &PluginRequest{Method: MethodGenerateKey, KeyType: keyType})
	if err != nil {
		return nil, err
	}
	if p.pub, err = p.publicKey(resp); err != nil {
		return nil, err
	}
	return p, nil
}

func pluginFor(ref *Ref, timeout time.Duration) (*PluginSigner, error) {
	if ref.Location == LocationFile {
		return nil, fmt.Errorf("%w: %s is a file, not a plugin key", ErrPlugin, ref)
	}
	name := "cnabsec-signer-" + ref.Plugin
	prog, err := exec.LookPath(name)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %s is not on PATH", ErrPlugin, ref.Describe(), name)
	}
	if timeout <= 0 {
		timeout = DefaultPluginTimeout
	}
	return &PluginSigner{ref: ref, program: prog, timeout: timeout}, nil
}

func (p *PluginSigner) publicKey(resp *PluginResponse) (*PublicKey, error) {
	pub, err := ParsePublic([]byte(resp.PublicKey))
	if err != nil {
		return nil, p.fail("its public key: %v", err)
	}
	return pub, nil
}

// Public returns the key the plugin described.
func (p *PluginSigner) Public() *PublicKey { return p.pub }

// Ref returns the key reference.
func (p *PluginSigner) Ref() *Ref { return p.ref }

// Sign asks the plugin to sign data and refuses a signature that does not
// verify with the described key (a plugin that signs with another key, or
// answers garbage, signs nothing).
func (p *PluginSigner) Sign(ctx context.Context, data []byte) ([]byte, error) {
	if len(data) > MaxPluginData {
		return nil, p.fail("%d bytes to sign is more than %d", len(data), MaxPluginData)
	}
	d := sha256.Sum256(data)
	resp, err := p.call(ctx, &PluginRequest{
		Method: MethodSign, Scheme: p.pub.Scheme, Hash: "sha256",
		Data: base64.StdEncoding.EncodeToString(data), Digest: hex.EncodeToString(d[:]),
	})
	if err != nil {
		return nil, err
	}
	sig, err := base64.StdEncoding.DecodeString(resp.Signature)
	if err != nil || len(sig) == 0 {
		return nil, p.fail("the signature is not base64")
	}
	if err := p.pub.Verify(data, sig); err != nil {
		return nil, p.fail("its signature does not verify with key %s (%s)", p.pub.ID(), p.pub.Scheme)
	}
	return sig, nil
}

func (p *PluginSigner) fail(format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrPlugin, p.ref.Describe(), fmt.Sprintf(format, args...))
}

// call runs one plugin call: the request on stdin, the answer on stdout,
// within the timeout and the output cap.
func (p *PluginSigner) call(ctx context.Context, req *PluginRequest) (*PluginResponse, error) {
	req.Protocol, req.Key = PluginProtocol, p.ref.Raw()
	in, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.program)
	cmd.Stdin = bytes.NewReader(in)
	// The plugin's stderr is not read: it could echo a PIN or a secret.
	stdout := &cappedBuffer{max: maxPluginOutput}
	cmd.Stdout, cmd.Stderr = stdout, io.Discard
	cmd.WaitDelay = time.Second
	runErr := cmd.Run()
	if ctx.Err() != nil {
		return nil, p.fail("%s: no answer within %s", req.Method, p.timeout)
	}
	if stdout.over {
		return nil, p.fail("%s: more than %d bytes of output", req.Method, maxPluginOutput)
	}
	return p.answer(req.Method, stdout.Bytes(), runErr)
}

// answer decodes a plugin's stdout; a JSON error wins over the exit status.
func (p *PluginSigner) answer(method string, out []byte, runErr error) (*PluginResponse, error) {
	var resp PluginResponse
	dec := json.NewDecoder(bytes.NewReader(out))
	decErr := dec.Decode(&resp)
	switch {
	case decErr == nil && resp.Error != nil:
		return nil, p.fail("%s: %s", method, printable(resp.Error.Message))
	case runErr != nil:
		return nil, p.fail("%s: %v", method, runErr)
	case decErr != nil:
		return nil, p.fail("%s: the answer is not JSON", method)
	case resp.Protocol != PluginProtocol:
		return nil, p.fail("%s: protocol %d (cnabsec speaks %d)", method, resp.Protocol, PluginProtocol)
	}
	return &resp, nil
}

// printable bounds and cleans a plugin's message before it is shown.
func printable(s string) string {
	b := []rune(s)
	if len(b) > 300 {
		b = append(b[:300], '.', '.', '.')
	}
	for i, r := range b {
		if r < 0x20 || r == 0x7f {
			b[i] = ' '
		}
	}
	return string(b)
}

// cappedBuffer keeps at most max bytes and notes that more came. It has
// no ReadFrom, so that every write passes the cap.
type cappedBuffer struct {
	buf  bytes.Buffer
	max  int
	over bool
}

func (c *cappedBuffer) Write(b []byte) (int, error) {
	if room := c.max - c.buf.Len(); len(b) > room {
		c.over = true
		c.buf.Write(b[:max(room, 0)])
		return 0, io.ErrShortWrite
	}
	return c.buf.Write(b)
}

// Bytes returns what was kept.
func (c *cappedBuffer) Bytes() []byte { return c.buf.Bytes() }

// ServePlugin is the plugin side of the protocol: it reads one request from
// r, passes it to handle, and writes the answer (or the error as JSON) to w.
// It returns the process exit code (0, or 1 after an error).
func ServePlugin(r io.Reader, w io.Writer, handle func(*PluginRequest) (*PluginResponse, error)) int {
	var req PluginRequest
	dec := json.NewDecoder(io.LimitReader(r, 2*MaxPluginData))
	resp, err := (*PluginResponse)(nil), error(nil)
	if err = dec.Decode(&req); err != nil {
		err = fmt.Errorf("the request is not JSON: %v", err)
	} else if req.Protocol != PluginProtocol {
		err = fmt.Errorf("protocol %d (this plugin speaks %d)", req.Protocol, PluginProtocol)
	} else {
		resp, err = handle(&req)
	}
	if err != nil {
		resp = &PluginResponse{Error: &PluginError{Message: err.Error()}}
	}
	resp.Protocol = PluginProtocol
	_ = json.NewEncoder(w).Encode(resp)
	if err != nil {
		return 1
	}
	return 0
}

// DataBytes returns the bytes a sign request carries, checked against its digest.
func (req *PluginRequest) DataBytes() ([]byte, error) {
	data, err := base64.StdEncoding.DecodeString(req.Data)
	if err != nil {
		return nil, errors.New("data is not base64")
	}
	d := sha256.Sum256(data)
	if req.Hash != "sha256" || req.Digest != hex.EncodeToString(d[:]) {
		return nil, errors.New("digest does not match the data (want sha256)")
	}
	return data, nil
}
