// Stand-in for pulumi-resource-random (see internal/standin): RandomPassword, RandomString and RandomUuid.
package main

import (
	"crypto/rand"
	"errors"
	"math/big"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"openedx-e2e/tools/pulumi/internal/standin"
)

var version = "0.0.0-kit"

const (
	lower   = "abcdefghijklmnopqrstuvwxyz"
	upper   = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	numeric = "0123456789"
	special = "!@#$%&*()-_=+[]{}<>:?" // the real provider's default special characters
)

// The real provider's defaults for the inputs a program may leave out.
var stringDefaults = resource.PropertyMap{
	"lower": resource.NewProperty(true), "upper": resource.NewProperty(true),
	"numeric": resource.NewProperty(true), "number": resource.NewProperty(true),
	"special":  resource.NewProperty(true),
	"minLower": resource.NewProperty(0.0), "minUpper": resource.NewProperty(0.0),
	"minNumeric": resource.NewProperty(0.0), "minSpecial": resource.NewProperty(0.0),
}

func pick(alphabet string) (byte, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
	if err != nil {
		return 0, err
	}
	return alphabet[n.Int64()], nil
}

// generate draws each class's minimum first, fills up from every enabled class, then shuffles.
func generate(in resource.PropertyMap) (string, error) {
	if !in["length"].IsNumber() {
		return "", errors.New("length is required")
	}
	length := int(in["length"].NumberValue())
	specials := special
	if v := in["overrideSpecial"]; v.IsString() {
		specials = v.StringValue()
	}
	classes := []struct {
		key, minKey, chars string
	}{{"lower", "minLower", lower}, {"upper", "minUpper", upper}, {"numeric", "minNumeric", numeric},
		{"special", "minSpecial", specials}}
	var all strings.Builder
	var out []byte
	for _, c := range classes {
		if !in[resource.PropertyKey(c.key)].BoolValue() {
			continue
		}
		all.WriteString(c.chars)
		for i := 0; i < int(in[resource.PropertyKey(c.minKey)].NumberValue()); i++ {
			b, err := pick(c.chars)
			if err != nil {
				return "", err
			}
			out = append(out, b)
		}
	}
	if all.Len() == 0 {
		return "", errors.New("every character class is disabled")
	}
	for len(out) < length {
		b, err := pick(all.String())
		if err != nil {
			return "", err
		}
		out = append(out, b)
	}
	for i := len(out) - 1; i > 0; i-- {
		j, err := rand.Int(rand.Reader, big.NewInt(int64(i+1)))
		if err != nil {
			return "", err
		}
		out[i], out[j.Int64()] = out[j.Int64()], out[i]
	}
	return string(out), nil
}

func main() {
	standin.Serve("random", version, map[string]standin.Resource{
		"random:index/randomPassword:RandomPassword": {Defaults: stringDefaults,
			Create: func(in resource.PropertyMap) (string, resource.PropertyMap, error) {
				result, err := generate(in)
				if err != nil {
					return "", nil, err
				}
				hash, err := bcrypt.GenerateFromPassword([]byte(result), bcrypt.DefaultCost)
				if err != nil {
					return "", nil, err
				}
				return "none", resource.PropertyMap{
					"result": resource.NewProperty(result), "bcryptHash": resource.NewProperty(string(hash)),
				}, nil
			}},
		"random:index/randomString:RandomString": {Defaults: stringDefaults,
			Create: func(in resource.PropertyMap) (string, resource.PropertyMap, error) {
				result, err := generate(in)
				return result, resource.PropertyMap{"result": resource.NewProperty(result)}, err
			}},
		"random:index/randomUuid:RandomUuid": {Defaults: resource.PropertyMap{},
			Create: func(resource.PropertyMap) (string, resource.PropertyMap, error) {
				b := make([]byte, 16)
				if _, err := rand.Read(b); err != nil {
					return "", nil, err
				}
				b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80 // version 4, RFC 4122 variant
				const hex = "0123456789abcdef"
				var s strings.Builder
				for i, c := range b {
					if i == 4 || i == 6 || i == 8 || i == 10 {
						s.WriteByte('-')
					}
					s.WriteByte(hex[c>>4])
					s.WriteByte(hex[c&0x0f])
				}
				return s.String(), resource.PropertyMap{"result": resource.NewProperty(s.String())}, nil
			}},
	})
}
