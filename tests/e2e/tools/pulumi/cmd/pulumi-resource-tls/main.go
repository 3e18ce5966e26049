// Stand-in for pulumi-resource-tls (see internal/standin): PrivateKey (RSA, ECDSA, ED25519).
package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"openedx-e2e/tools/pulumi/internal/standin"
)

var version = "0.0.0-kit"

var curves = map[string]elliptic.Curve{
	"P224": elliptic.P224(), "P256": elliptic.P256(), "P384": elliptic.P384(), "P521": elliptic.P521(),
}

func pemOf(kind string, der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}))
}

// privateKey returns the key and its traditional PEM: PKCS#1 for RSA, SEC 1 for ECDSA, PKCS#8 for ED25519.
func privateKey(in resource.PropertyMap) (crypto.Signer, string, error) {
	switch algorithm := in["algorithm"].StringValue(); algorithm {
	case "RSA":
		key, err := rsa.GenerateKey(rand.Reader, int(in["rsaBits"].NumberValue()))
		if err != nil {
			return nil, "", err
		}
		return key, pemOf("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key)), nil
	case "ECDSA":
		curve, ok := curves[in["ecdsaCurve"].StringValue()]
		if !ok {
			return nil, "", fmt.Errorf("unsupported ecdsaCurve %q", in["ecdsaCurve"].StringValue())
		}
		key, err := ecdsa.GenerateKey(curve, rand.Reader)
		if err != nil {
			return nil, "", err
		}
		der, err := x509.MarshalECPrivateKey(key)
		return key, pemOf("EC PRIVATE KEY", der), err
	case "ED25519":
		_, key, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, "", err
		}
		der, err := x509.MarshalPKCS8PrivateKey(key)
		return key, pemOf("PRIVATE KEY", der), err
	default:
		return nil, "", fmt.Errorf("unsupported algorithm %q (RSA, ECDSA or ED25519)", algorithm)
	}
}

func create(in resource.PropertyMap) (string, resource.PropertyMap, error) {
	key, traditional, err := privateKey(in)
	if err != nil {
		return "", nil, err
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", nil, err
	}
	public, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return "", nil, err
	}
	out := resource.PropertyMap{
		"privateKeyPem":      resource.NewProperty(traditional),
		"privateKeyPemPkcs8": resource.NewProperty(pemOf("PRIVATE KEY", pkcs8)),
		"publicKeyPem":       resource.NewProperty(pemOf("PUBLIC KEY", public)),
	}
	// OpenSSH has no P-224: the real provider leaves these empty for it too.
	if sshPublic, err := ssh.NewPublicKey(key.Public()); err == nil {
		out["publicKeyOpenssh"] = resource.NewProperty(string(ssh.MarshalAuthorizedKey(sshPublic)))
		out["publicKeyFingerprintMd5"] = resource.NewProperty(ssh.FingerprintLegacyMD5(sshPublic))
		out["publicKeyFingerprintSha256"] = resource.NewProperty(ssh.FingerprintSHA256(sshPublic))
		if block, err := ssh.MarshalPrivateKey(key, ""); err == nil {
			out["privateKeyOpenssh"] = resource.NewProperty(string(pem.EncodeToMemory(block)))
		}
	}
	id := sha1.Sum(public) // the real provider's ID: the SHA-1 of the public key
	return strings.ToLower(hex.EncodeToString(id[:])), out, nil
}

func main() {
	standin.Serve("tls", version, map[string]standin.Resource{
		"tls:index/privateKey:PrivateKey": {
			Defaults: resource.PropertyMap{"rsaBits": resource.NewProperty(2048.0), "ecdsaCurve": resource.NewProperty("P224")},
			Create:   create,
		},
	})
}
