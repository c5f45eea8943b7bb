package keys

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"math/big"
	"sync"
	"testing"
)

var (
	pssKeysOnce sync.Once
	pssKeys     []*rsa.PrivateKey
)

// rsaTestKeys are keys of the sizes the fast path takes (2049 bits makes
// emBits a multiple of 8, so the encoded message is one byte shorter than
// the modulus) and one it leaves to crypto/rsa (e = 3).
func rsaTestKeys(t testing.TB) []*rsa.PrivateKey {
	pssKeysOnce.Do(func() {
		for _, bits := range []int{2048, 2049, 3072, 4096} {
			k, err := rsa.GenerateKey(rand.Reader, bits)
			if err != nil {
				t.Fatal(err)
			}
			pssKeys = append(pssKeys, k)
		}
	})
	return pssKeys
}

// agree checks that the fast path and crypto/rsa give the same answer and
// returns whether the signature verified.
func agree(t testing.TB, pub *rsa.PublicKey, digest, sig []byte, what string) bool {
	t.Helper()
	want := rsa.VerifyPSS(pub, crypto.SHA256, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
	got := verifyRSAPSSSHA256(pub, digest, sig)
	if (got == nil) != (want == nil) {
		t.Fatalf("%d-bit key, %s: fast path says %v, crypto/rsa says %v", pub.N.BitLen(), what, got, want)
	}
	return got == nil
}

func TestRSAPSSAgreesWithCryptoRSA(t *testing.T) {
	digest := sha256.Sum256([]byte("signed bytes"))
	other := sha256.Sum256([]byte("other bytes"))
	for _, k := range rsaTestKeys(t) {
		if !fastRSAKey(&k.PublicKey) {
			t.Fatalf("a %d-bit key does not take the fast path", k.N.BitLen())
		}
		for _, salt := range []int{0, 1, 20, sha256.Size, 64, rsa.PSSSaltLengthAuto} {
			sig, err := rsa.SignPSS(rand.Reader, k, crypto.SHA256, digest[:], &rsa.PSSOptions{SaltLength: salt})
			if err != nil {
				t.Fatal(err)
			}
			if !agree(t, &k.PublicKey, digest[:], sig, "a valid signature") {
				t.Fatalf("%d-bit key, salt %d: a valid signature was refused", k.N.BitLen(), salt)
			}
			if agree(t, &k.PublicKey, other[:], sig, "another digest") {
				t.Fatal("a signature verified over another digest")
			}
			for _, bad := range corruptedSignatures(k, sig) {
				if agree(t, &k.PublicKey, digest[:], bad.sig, bad.what) {
					t.Fatalf("%d-bit key: %s verified", k.N.BitLen(), bad.what)
				}
			}
		}
	}
}

type badSig struct {
	what string
	sig  []byte
}

func corruptedSignatures(k *rsa.PrivateKey, sig []byte) []badSig {
	flip := func(i int) []byte { b := append([]byte(nil), sig...); b[i] ^= 0x01; return b }
	n := k.N.FillBytes(make([]byte, k.Size()))
	return []badSig{
		{"first byte flipped", flip(0)},
		{"middle byte flipped", flip(len(sig) / 2)},
		{"last byte flipped", flip(len(sig) - 1)},
		{"one byte short", sig[1:]},
		{"a zero byte prepended", append([]byte{0}, sig...)},
		{"the modulus itself", n},
		{"zero", make([]byte, len(sig))},
		{"one", append(make([]byte, len(sig)-1), 1)},
		{"empty", nil},
		{"the signature plus the modulus", plusModulus(k, sig)},
	}
}

// plusModulus returns s+N in the signature's length when it fits (the same
// value modulo N, which must still be refused), else a byte flipped.
func plusModulus(k *rsa.PrivateKey, sig []byte) []byte {
	v := new(big.Int).Add(new(big.Int).SetBytes(sig), k.N)
	if (v.BitLen()+7)/8 > len(sig) {
		b := append([]byte(nil), sig...)
		b[0] ^= 0x80
		return b
	}
	return v.FillBytes(make([]byte, len(sig)))
}

// rawSign returns the signature whose public operation gives em (em must be
// smaller than the modulus): a way to present any encoded message.
func rawSign(k *rsa.PrivateKey, em []byte) []byte {
	if new(big.Int).SetBytes(em).Cmp(k.N) >= 0 {
		panic("rawSign: encoded message not below the modulus")
	}
	s := new(big.Int).Exp(new(big.Int).SetBytes(em), k.D, k.N)
	return s.FillBytes(make([]byte, k.Size()))
}

// pssEncode builds EMSA-PSS-ENCODE's output with the given parts, so that
// tests can break one part at a time.
type pssParts struct {
	salt      []byte
	separator byte // 0x01 in a valid encoding
	padByte   byte // 0x00 in a valid encoding
	trailer   byte // 0xbc in a valid encoding
	topBits   bool // set the bits above emBits
	hashOf    []byte
	hashSalt  []byte // when set, hashed instead of salt
}

// pssEncodeBelowN varies the salt's first byte until the encoding is below
// the modulus (an encoding with bits above emBits may not be), so that every
// case reaches the verifiers as built.
func pssEncodeBelowN(t testing.TB, k *rsa.PrivateKey, p pssParts) []byte {
	t.Helper()
	p.salt = append([]byte{0}, p.salt...)
	for i := range 256 {
		p.salt[0] = byte(i)
		if em := pssEncode(k, p); new(big.Int).SetBytes(em).Cmp(k.N) < 0 {
			return em
		}
	}
	t.Fatalf("%d-bit key: no encoding below the modulus in 256 salts", k.N.BitLen())
	return nil
}

func pssEncode(k *rsa.PrivateKey, p pssParts) []byte {
	emBits := k.N.BitLen() - 1
	emLen := (emBits + 7) / 8
	d := sha256.New()
	d.Write(make([]byte, 8))
	d.Write(p.hashOf)
	if p.hashSalt != nil {
		d.Write(p.hashSalt)
	} else {
		d.Write(p.salt)
	}
	h := d.Sum(nil)
	db := make([]byte, emLen-sha256.Size-1)
	psLen := len(db) - len(p.salt) - 1
	for i := range psLen {
		db[i] = p.padByte
	}
	db[psLen] = p.separator
	copy(db[psLen+1:], p.salt)
	masked := mgf1XOR(h, db)
	masked[0] &= byte(0xff >> (8*emLen - emBits))
	if inside := 8 - (8*emLen - emBits); p.topBits && inside < 8 {
		masked[0] |= 1 << inside // the lowest bit above emBits
	}
	em := append(masked, h...)
	return append(em, p.trailer)
}

// TestForgedPSSEncodingsAreRefusedLikeCryptoRSA presents encoded messages
// with one part wrong (as a forger who can choose the public operation's
// result would) and checks that the fast path refuses each, as crypto/rsa
// does, while the same encoding done right verifies on both.
func TestForgedPSSEncodingsAreRefusedLikeCryptoRSA(t *testing.T) {
	digest := sha256.Sum256([]byte("signed bytes"))
	salt := []byte("0123456789abcdef0123456789abcdef")
	for _, k := range rsaTestKeys(t) {
		k.Precompute()
		good := pssParts{salt: salt, separator: 0x01, trailer: 0xbc, hashOf: digest[:]}
		if !agree(t, &k.PublicKey, digest[:], rawSign(k, pssEncodeBelowN(t, k, good)), "a hand-made valid encoding") {
			t.Fatal("the hand-made valid encoding was refused: the test's encoder is wrong")
		}
		dbLen := (k.N.BitLen()-1+7)/8 - sha256.Size - 1
		for what, p := range map[string]pssParts{
			"data all zero, hash over all of it as salt": {salt: make([]byte, dbLen-2), trailer: 0xbc, hashOf: digest[:], hashSalt: make([]byte, dbLen)},
			"trailer not 0xbc":                           {salt: salt, separator: 0x01, trailer: 0xbd, hashOf: digest[:]},
			"no 0x01 separator":                          {salt: salt, separator: 0x02, trailer: 0xbc, hashOf: digest[:]},
			"padding byte 0x01":                          {salt: salt, separator: 0x01, padByte: 0x01, trailer: 0xbc, hashOf: digest[:]},
			"padding byte 0x02":                          {salt: salt, separator: 0x01, padByte: 0x02, trailer: 0xbc, hashOf: digest[:]},
			"bits above emBits set":                      {salt: salt, separator: 0x01, trailer: 0xbc, topBits: true, hashOf: digest[:]},
			"hash over another digest":                   {salt: salt, separator: 0x01, trailer: 0xbc, hashOf: make([]byte, 32)},
		} {
			if p.topBits && (k.N.BitLen()-1)%8 == 0 {
				continue // no bits above emBits in the first byte
			}
			if agree(t, &k.PublicKey, digest[:], rawSign(k, pssEncodeBelowN(t, k, p)), what) {
				t.Fatalf("%d-bit key: an encoding with %s verified", k.N.BitLen(), what)
			}
		}
	}
}

func TestUnusualRSAKeysGoToCryptoRSA(t *testing.T) {
	k := rsaTestKeys(t)[0]
	for what, pub := range map[string]*rsa.PublicKey{
		"exponent 3":       {N: k.N, E: 3},
		"even modulus":     {N: new(big.Int).Add(k.N, big.NewInt(1)), E: 65537},
		"1024-bit modulus": {N: new(big.Int).Rsh(k.N, 1024), E: 65537},
	} {
		if fastRSAKey(pub) {
			t.Errorf("a key with %s takes the fast path", what)
		}
	}
}

// FuzzRSAPSSAgreesWithCryptoRSA presents any encoded message (as the result
// of the public operation) and any digest to both verifiers.
func FuzzRSAPSSAgreesWithCryptoRSA(f *testing.F) {
	k := rsaTestKeys(f)[1]
	digest := sha256.Sum256([]byte("signed bytes"))
	f.Add(pssEncode(k, pssParts{salt: []byte("salt"), separator: 0x01, trailer: 0xbc, hashOf: digest[:]}), digest[:])
	f.Add(make([]byte, 8), digest[:])
	f.Fuzz(func(t *testing.T, em, d []byte) {
		if len(em) > k.Size() {
			em = em[:k.Size()]
		}
		if new(big.Int).SetBytes(em).Cmp(k.N) >= 0 {
			return
		}
		var digest [sha256.Size]byte
		copy(digest[:], d)
		agree(t, &k.PublicKey, digest[:], rawSign(k, em), "a fuzzed encoding")
	})
}
