package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"strings"

	"github.com/miekg/pkcs11"

	"github.com/cnabsec/cnabsec/keys"
)

// maxPINFile bounds a pin-source file.
const maxPINFile = 1024

// ckkECEdwards is CKK_EC_EDWARDS (PKCS#11 3.0), which miekg/pkcs11 v1.1 lacks.
const ckkECEdwards = 0x40

// ckmEdDSA is CKM_EDDSA (PKCS#11 3.0).
const ckmEdDSA = 0x1057

var oidP256 = asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7}

// session is a logged-in session on the token a reference names.
type session struct {
	ctx *pkcs11.Ctx
	h   pkcs11.SessionHandle
	ref *keys.Ref
}

func handle(req *keys.PluginRequest) (*keys.PluginResponse, error) {
	ref, err := keys.ParseRef(req.Key)
	if err != nil {
		return nil, err
	}
	if ref.Location != keys.LocationToken {
		return nil, errors.New("not a pkcs11: URI")
	}
	s, err := open(ref)
	if err != nil {
		return nil, err
	}
	defer s.close()
	switch req.Method {
	case keys.MethodDescribeKey:
		return s.describe()
	case keys.MethodSign:
		return s.sign(req)
	case keys.MethodGenerateKey:
		return s.generate(req.KeyType)
	}
	return nil, fmt.Errorf("method %q is not supported", req.Method)
}

func open(ref *keys.Ref) (*session, error) {
	mod := ref.Query["module-path"]
	if mod == "" {
		return nil, errors.New("the URI names no module-path")
	}
	ctx := pkcs11.New(mod)
	if ctx == nil {
		return nil, fmt.Errorf("cannot load the PKCS#11 module %s", mod)
	}
	if err := ctx.Initialize(); err != nil {
		return nil, fmt.Errorf("module %s: %v", mod, err)
	}
	s := &session{ctx: ctx, ref: ref}
	if err := s.login(); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

func (s *session) close() {
	if s.h != 0 {
		_ = s.ctx.Logout(s.h)
		_ = s.ctx.CloseSession(s.h)
	}
	_ = s.ctx.Finalize()
	s.ctx.Destroy()
}

func (s *session) login() error {
	slot, err := s.findSlot()
	if err != nil {
		return err
	}
	if s.h, err = s.ctx.OpenSession(slot, pkcs11.CKF_SERIAL_SESSION|pkcs11.CKF_RW_SESSION); err != nil {
		return fmt.Errorf("opening a session: %v", err)
	}
	pin, err := readPIN(s.ref.Query["pin-source"])
	if err != nil {
		return err
	}
	if err := s.ctx.Login(s.h, pkcs11.CKU_USER, pin); err != nil && !errors.Is(err, pkcs11.Error(pkcs11.CKR_USER_ALREADY_LOGGED_IN)) {
		return fmt.Errorf("login to token %q: %v", s.ref.PathAttrs["token"], err)
	}
	return nil
}

// readPIN reads the PIN from pin-source=file:PATH (or a bare path).
func readPIN(src string) (string, error) {
	if src == "" {
		return "", errors.New("the URI has no pin-source (want pin-source=file:PATH)")
	}
	path := strings.TrimPrefix(src, "file:")
	if strings.HasPrefix(path, "|") {
		return "", errors.New("pin-source: a command is not supported (want file:PATH)")
	}
	st, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("pin-source: %v", err)
	}
	if st.Size() > maxPINFile {
		return "", fmt.Errorf("pin-source %s: too large for a PIN file", path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("pin-source: %v", err)
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

func (s *session) findSlot() (uint, error) {
	slots, err := s.ctx.GetSlotList(true)
	if err != nil {
		return 0, fmt.Errorf("listing slots: %v", err)
	}
	label, serial := s.ref.PathAttrs["token"], s.ref.PathAttrs["serial"]
	for _, slot := range slots {
		ti, err := s.ctx.GetTokenInfo(slot)
		if err != nil {
			continue
		}
		if (label == "" || strings.TrimRight(ti.Label, " ") == label) && (serial == "" || strings.TrimRight(ti.SerialNumber, " ") == serial) {
			return slot, nil
		}
	}
	return 0, fmt.Errorf("no token with label %q serial %q", label, serial)
}

// keyTemplate matches the key the URI names, of class class.
func (s *session) keyTemplate(class uint) []*pkcs11.Attribute {
	t := []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_CLASS, class)}
	if o := s.ref.PathAttrs["object"]; o != "" {
		t = append(t, pkcs11.NewAttribute(pkcs11.CKA_LABEL, o))
	}
	if id := s.ref.PathAttrs["id"]; id != "" {
		t = append(t, pkcs11.NewAttribute(pkcs11.CKA_ID, []byte(id)))
	}
	return t
}

// findOne returns the single object of class the URI names.
func (s *session) findOne(class uint) (pkcs11.ObjectHandle, error) {
	if err := s.ctx.FindObjectsInit(s.h, s.keyTemplate(class)); err != nil {
		return 0, err
	}
	objs, _, err := s.ctx.FindObjects(s.h, 2)
	_ = s.ctx.FindObjectsFinal(s.h)
	if err != nil {
		return 0, err
	}
	what := map[uint]string{pkcs11.CKO_PRIVATE_KEY: "private key", pkcs11.CKO_PUBLIC_KEY: "public key"}[class]
	switch len(objs) {
	case 0:
		return 0, fmt.Errorf("no %s %s on the token", what, s.keyName())
	case 1:
		return objs[0], nil
	}
	return 0, fmt.Errorf("more than one %s %s on the token", what, s.keyName())
}

func (s *session) keyName() string {
	if o := s.ref.PathAttrs["object"]; o != "" {
		return fmt.Sprintf("object=%q", o)
	}
	return fmt.Sprintf("id=%x", s.ref.PathAttrs["id"])
}

func (s *session) describe() (*keys.PluginResponse, error) {
	pub, err := s.publicKey()
	if err != nil {
		return nil, err
	}
	return pemAnswer(pub)
}

func pemAnswer(pub crypto.PublicKey) (*keys.PluginResponse, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	return &keys.PluginResponse{PublicKey: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))}, nil
}

// publicKey reads the public key object of the key the URI names.
func (s *session) publicKey() (crypto.PublicKey, error) {
	obj, err := s.findOne(pkcs11.CKO_PUBLIC_KEY)
	if err != nil {
		return nil, err
	}
	attrs, err := s.ctx.GetAttributeValue(s.h, obj, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, nil)})
	if err != nil || len(attrs) != 1 {
		return nil, fmt.Errorf("reading the key type: %v", err)
	}
	switch kt := bytesUint(attrs[0].Value); kt {
	case pkcs11.CKK_EC:
		return s.ecPublic(obj)
	case pkcs11.CKK_RSA:
		return s.rsaPublic(obj)
	case ckkECEdwards:
		return s.edPublic(obj)
	default:
		return nil, fmt.Errorf("key type %#x is not supported (want EC P-256, RSA or Ed25519)", kt)
	}
}

func bytesUint(b []byte) uint {
	var v uint
	for i := len(b) - 1; i >= 0; i-- { // little-endian CK_ULONG
		v = v<<8 | uint(b[i])
	}
	return v
}

func (s *session) attrs(obj pkcs11.ObjectHandle, types ...uint) ([][]byte, error) {
	req := make([]*pkcs11.Attribute, len(types))
	for i, t := range types {
		req[i] = pkcs11.NewAttribute(t, nil)
	}
	got, err := s.ctx.GetAttributeValue(s.h, obj, req)
	if err != nil || len(got) != len(types) {
		return nil, fmt.Errorf("reading the public key: %v", err)
	}
	out := make([][]byte, len(got))
	for i, a := range got {
		out[i] = a.Value
	}
	return out, nil
}

func (s *session) ecPublic(obj pkcs11.ObjectHandle) (crypto.PublicKey, error) {
	v, err := s.attrs(obj, pkcs11.CKA_EC_PARAMS, pkcs11.CKA_EC_POINT)
	if err != nil {
		return nil, err
	}
	var oid asn1.ObjectIdentifier
	if _, err := asn1.Unmarshal(v[0], &oid); err != nil || !oid.Equal(oidP256) {
		return nil, errors.New("the EC key is not on P-256")
	}
	var point []byte
	if _, err := asn1.Unmarshal(v[1], &point); err != nil {
		return nil, errors.New("CKA_EC_POINT is not a DER octet string")
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), point)
	if err != nil {
		return nil, fmt.Errorf("CKA_EC_POINT: %v", err)
	}
	return pub, nil
}

func (s *session) rsaPublic(obj pkcs11.ObjectHandle) (crypto.PublicKey, error) {
	v, err := s.attrs(obj, pkcs11.CKA_MODULUS, pkcs11.CKA_PUBLIC_EXPONENT)
	if err != nil {
		return nil, err
	}
	e := new(big.Int).SetBytes(v[1])
	if !e.IsInt64() || e.Int64() > 1<<31 {
		return nil, errors.New("the RSA public exponent is out of range")
	}
	return &rsa.PublicKey{N: new(big.Int).SetBytes(v[0]), E: int(e.Int64())}, nil
}

func (s *session) edPublic(obj pkcs11.ObjectHandle) (crypto.PublicKey, error) {
	v, err := s.attrs(obj, pkcs11.CKA_EC_POINT)
	if err != nil {
		return nil, err
	}
	point := v[0]
	var inner []byte
	if _, err := asn1.Unmarshal(point, &inner); err == nil {
		point = inner
	}
	if len(point) != ed25519.PublicKeySize {
		return nil, errors.New("the Ed25519 public key is not 32 bytes")
	}
	return ed25519.PublicKey(point), nil
}

func (s *session) sign(req *keys.PluginRequest) (*keys.PluginResponse, error) {
	data, err := req.DataBytes()
	if err != nil {
		return nil, err
	}
	digest := hashOf(data)
	obj, err := s.findOne(pkcs11.CKO_PRIVATE_KEY)
	if err != nil {
		return nil, err
	}
	var mech *pkcs11.Mechanism
	input := digest
	switch req.Scheme {
	case keys.SchemeECDSA:
		mech = pkcs11.NewMechanism(pkcs11.CKM_ECDSA, nil)
	case keys.SchemeRSAPSS:
		mech = pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS_PSS, pkcs11.NewPSSParams(pkcs11.CKM_SHA256, pkcs11.CKG_MGF1_SHA256, 32))
	case keys.SchemeEd25519:
		mech, input = pkcs11.NewMechanism(ckmEdDSA, nil), data
	default:
		return nil, fmt.Errorf("scheme %q is not supported", req.Scheme)
	}
	if err := s.ctx.SignInit(s.h, []*pkcs11.Mechanism{mech}, obj); err != nil {
		return nil, fmt.Errorf("sign: %v", err)
	}
	sig, err := s.ctx.Sign(s.h, input)
	if err != nil {
		return nil, fmt.Errorf("sign: %v", err)
	}
	if req.Scheme == keys.SchemeECDSA {
		if sig, err = ecdsaDER(sig); err != nil {
			return nil, err
		}
	}
	return &keys.PluginResponse{Signature: base64.StdEncoding.EncodeToString(sig)}, nil
}

// ecdsaDER turns PKCS#11's r||s into the ASN.1 DER signature TUF stores.
func ecdsaDER(raw []byte) ([]byte, error) {
	if len(raw) != 64 {
		return nil, fmt.Errorf("the token's ECDSA signature is %d bytes, want 64", len(raw))
	}
	return asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(raw[:32]), new(big.Int).SetBytes(raw[32:])})
}
