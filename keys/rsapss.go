package keys

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"math/big"
)

// RSASSA-PSS verification with SHA-256, MGF1-SHA-256 and any salt length
// (RFC 8017 §8.1.2 and §9.1.2), as rsa.VerifyPSS with PSSSaltLengthAuto.
//
// crypto/rsa computes the public operation with its constant-time modular
// arithmetic and rebuilds the modulus (R² mod N) on every call: about 175 µs
// for a 3072-bit key here, where math/big's variable-time exponentiation takes
// 67 µs. Verification handles only public values (the key, the signature,
// the signed bytes), so nothing secret leaks through its timing, which is
// what constant time protects. The fast path takes only keys crypto/rsa
// accepts with the usual exponent (65537) and an odd modulus of 2048 to 4096
// bits; any other key goes to crypto/rsa. TestRSAPSSAgreesWithCryptoRSA and
// FuzzRSAPSSAgreesWithCryptoRSA check that both accept and refuse the same
// signatures.

// errRSAPSS is the only error of the fast path: like crypto/rsa, it does
// not say which step of the encoding check failed.
var errRSAPSS = rsa.ErrVerification

var bigE65537 = big.NewInt(65537)

// verifyRSAPSSSHA256 checks sig over the SHA-256 digest.
func verifyRSAPSSSHA256(pub *rsa.PublicKey, digest, sig []byte) error {
	if !fastRSAKey(pub) {
		return rsa.VerifyPSS(pub, crypto.SHA256, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
	}
	em, err := rsaPublic(pub, sig)
	if err != nil {
		return err
	}
	return emsaPSSVerify(digest, em, pub.N.BitLen()-1)
}

// fastRSAKey reports whether the key takes the math/big path.
func fastRSAKey(pub *rsa.PublicKey) bool {
	bits := pub.N.BitLen()
	return pub.E == 65537 && pub.N.Bit(0) == 1 && bits >= 2048 && bits <= 4096
}

// rsaPublic computes the encoded message of a signature: s^e mod N written
// in emLen = ceil((modBits-1)/8) bytes (RFC 8017 §8.1.2 step 2).
func rsaPublic(pub *rsa.PublicKey, sig []byte) ([]byte, error) {
	if len(sig) != pub.Size() {
		return nil, errRSAPSS
	}
	s := new(big.Int).SetBytes(sig)
	if s.Cmp(pub.N) >= 0 {
		return nil, errRSAPSS
	}
	m := s.Exp(s, bigE65537, pub.N)
	emLen := (pub.N.BitLen() - 1 + 7) / 8
	if (m.BitLen()+7)/8 > emLen {
		return nil, errRSAPSS
	}
	return m.FillBytes(make([]byte, emLen)), nil
}

// emsaPSSVerify is EMSA-PSS-VERIFY (RFC 8017 §9.1.2) with SHA-256 and the
// salt length read from the encoding.
func emsaPSSVerify(mHash, em []byte, emBits int) error {
	const hLen = sha256.Size
	emLen := len(em)
	if len(mHash) != hLen || emLen < hLen+2 || em[emLen-1] != 0xbc {
		return errRSAPSS
	}
	db, h := em[:emLen-hLen-1], em[emLen-hLen-1:emLen-1]
	topBits := byte(0xff >> (8*emLen - emBits)) // bits of the first byte inside emBits
	if db[0]&^topBits != 0 {
		return errRSAPSS
	}
	db = mgf1XOR(h, db)
	db[0] &= topBits
	salt, ok := pssSalt(db)
	if !ok {
		return errRSAPSS
	}
	d := sha256.New()
	d.Write(make([]byte, 8))
	d.Write(mHash)
	d.Write(salt)
	if subtle.ConstantTimeCompare(d.Sum(nil), h) != 1 {
		return errRSAPSS
	}
	return nil
}

// pssSalt returns the salt of a decoded DB: zero bytes, one 0x01, the salt.
func pssSalt(db []byte) ([]byte, bool) {
	for i, c := range db {
		switch c {
		case 0x00:
			continue
		case 0x01:
			return db[i+1:], true
		}
		return nil, false
	}
	return nil, false
}

// mgf1XOR returns masked XOR MGF1-SHA-256(seed, len(masked)) in a new slice
// (the encoded message is not modified).
func mgf1XOR(seed, masked []byte) []byte {
	out := make([]byte, len(masked))
	var counter [4]byte
	var block [sha256.Size]byte
	d := sha256.New()
	for done := 0; done < len(out); done += sha256.Size {
		binary.BigEndian.PutUint32(counter[:], uint32(done/sha256.Size))
		d.Reset()
		d.Write(seed)
		d.Write(counter[:])
		d.Sum(block[:0])
		for i := done; i < len(out) && i < done+sha256.Size; i++ {
			out[i] = masked[i] ^ block[i-done]
		}
	}
	return out
}
