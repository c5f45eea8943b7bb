// Package testsigner is a signer plugin for tests (cnabsec-signer-test): it
// signs with a key file named by its reference, honestly or, on request, by
// lying in the ways a broken or hostile plugin could. Tests link it into PATH
// as cnabsec-signer-test; it is never part of a release.
//
// Reference: plugin:test?file=PATH[&mode=MODE][&passphrase-env=VAR]. MODE:
//
//	honest     sign with the key in PATH (default)
//	other-key  describe PATH's key, sign with a new one
//	garbage    answer random bytes as the signature
//	not-json   answer text that is not JSON
//	hang       never answer
//	huge       answer more output than any plugin answer needs
//	refuse     answer a JSON error
//	exit       exit 3 without an answer
package testsigner

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/cnabsec/cnabsec/keys"
)

// Main runs one plugin call and returns the exit code.
func Main(stdin io.Reader, stdout io.Writer) int {
	return keys.ServePlugin(stdin, stdout, handle)
}

func handle(req *keys.PluginRequest) (*keys.PluginResponse, error) {
	ref, err := keys.ParseRef(req.Key)
	if err != nil {
		return nil, err
	}
	mode := ref.Query["mode"]
	if req.Method == keys.MethodSign {
		if resp, done, err := lie(mode); done {
			return resp, err
		}
	}
	k, err := loadKey(ref)
	if err != nil {
		return nil, err
	}
	switch req.Method {
	case keys.MethodDescribeKey:
		pem, err := k.Public().PEM()
		return &keys.PluginResponse{PublicKey: string(pem)}, err
	case keys.MethodSign:
		return sign(k, mode, req)
	}
	return nil, fmt.Errorf("method %q is not supported", req.Method)
}

func loadKey(ref *keys.Ref) (*keys.PrivateKey, error) {
	path := ref.Query["file"]
	if path == "" {
		return nil, errors.New("the reference names no file= key")
	}
	var pass []byte
	if v := ref.Query["passphrase-env"]; v != "" {
		pass = []byte(os.Getenv(v))
	}
	return keys.LoadPrivate(path, pass)
}

// lie answers a sign request the broken ways; done is false for honest modes.
func lie(mode string) (resp *keys.PluginResponse, done bool, err error) {
	switch mode {
	case "garbage":
		b := make([]byte, 64)
		_, _ = rand.Read(b)
		return &keys.PluginResponse{Signature: base64.StdEncoding.EncodeToString(b)}, true, nil
	case "not-json":
		fmt.Print("signed, trust me\n")
		os.Exit(0)
	case "hang":
		time.Sleep(time.Hour)
	case "huge":
		fmt.Print(strings.Repeat("A", 4<<20))
		os.Exit(0)
	case "refuse":
		return nil, true, errors.New("the key is disabled")
	case "exit":
		os.Exit(3)
	}
	return nil, false, nil
}

func sign(k *keys.PrivateKey, mode string, req *keys.PluginRequest) (*keys.PluginResponse, error) {
	data, err := req.DataBytes()
	if err != nil {
		return nil, err
	}
	if mode == "other-key" {
		if k, err = keys.Generate(keys.GenEd25519); err != nil {
			return nil, err
		}
	}
	sig, err := k.Sign(context.Background(), data)
	if err != nil {
		return nil, err
	}
	return &keys.PluginResponse{Signature: base64.StdEncoding.EncodeToString(sig)}, nil
}
