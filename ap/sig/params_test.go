package sig

import (
	"net/http"
	"reflect"
	"testing"
)

func TestParseHeader(t *testing.T) {
	sig := []byte{0xde, 0xad, 0xbe, 0xef}
	const b64 = "3q2+7w=="
	std := Params{
		KeyID:     "https://a.example/u#main-key",
		Algorithm: "rsa-sha256",
		Headers:   []string{"(request-target)", "host", "date"},
		Signature: sig,
	}
	tests := []struct {
		name    string
		in      string
		want    Params
		wantErr bool
	}{
		{"compact", `keyId="https://a.example/u#main-key",algorithm="rsa-sha256",headers="(request-target) host date",signature="` + b64 + `"`, std, false},
		{"spaces after commas", `keyId="https://a.example/u#main-key", algorithm="rsa-sha256", headers="(request-target) host date", signature="` + b64 + `"`, std, false},
		{"spaces around = and tabs", "keyId = \"https://a.example/u#main-key\" ,\talgorithm= \"rsa-sha256\",headers =\"(request-target) host date\",signature=\"" + b64 + "\"", std, false},
		{"Signature prefix", `Signature keyId="https://a.example/u#main-key",algorithm="rsa-sha256",headers="(request-target) host date",signature="` + b64 + `"`, std, false},
		{"upper-case names and values", `KEYID="https://a.example/u#main-key",Algorithm="RSA-SHA256",Headers="(Request-Target) Host DATE",SIGNATURE="` + b64 + `"`, std, false},
		{"extra whitespace in headers", `keyId="https://a.example/u#main-key",algorithm="rsa-sha256",headers="  (request-target)  host date ",signature="` + b64 + `"`, std, false},
		{"empty list elements", `,keyId="https://a.example/u#main-key",,algorithm="rsa-sha256",headers="(request-target) host date",signature="` + b64 + `",`, std, false},
		{"unknown parameters ignored, even twice", `keyId="https://a.example/u#main-key",foo="x",foo=y,algorithm="rsa-sha256",headers="(request-target) host date",signature="` + b64 + `"`, std, false},
		{"signature without padding", `keyId="https://a.example/u#main-key",algorithm="rsa-sha256",headers="(request-target) host date",signature="3q2+7w"`, std, false},
		{"unquoted signature", `keyId="https://a.example/u#main-key",algorithm=rsa-sha256,headers="(request-target) host date",signature=` + b64, std, false},
		{"missing headers defaults to date", `keyId="k",signature="` + b64 + `"`,
			Params{KeyID: "k", Headers: []string{"date"}, Signature: sig}, false},
		{"created and expires", `keyId="k",algorithm="hs2019",created=1402170695,expires="1402170995",headers="(request-target) (created) (expires)",signature="` + b64 + `"`,
			Params{KeyID: "k", Algorithm: "hs2019", Headers: []string{"(request-target)", "(created)", "(expires)"}, Signature: sig, Created: 1402170695, Expires: 1402170995}, false},
		{"quoted-pair in keyId", `keyId="a\"b\\c",signature="` + b64 + `"`,
			Params{KeyID: `a"b\c`, Headers: []string{"date"}, Signature: sig}, false},
		{"comma inside a quoted keyId", `keyId="https://a.example/k,1",signature="` + b64 + `"`,
			Params{KeyID: "https://a.example/k,1", Headers: []string{"date"}, Signature: sig}, false},
		{"a parameter named signature after the prefix", `signature ="` + b64 + `",keyId="k"`,
			Params{KeyID: "k", Headers: []string{"date"}, Signature: sig}, false},

		{"unclosed quote", `keyId="k,signature="` + b64, Params{}, true},
		{"unclosed quote ending in backslash", `keyId="k",signature="` + b64 + `\`, Params{}, true},
		{"bad base64", `keyId="k",signature="not base64!"`, Params{}, true},
		{"empty signature", `keyId="k",signature=""`, Params{}, true},
		{"duplicate keyId", `keyId="k",keyId="j",signature="` + b64 + `"`, Params{}, true},
		{"duplicate keyId in other case", `keyId="k",KEYID="k",signature="` + b64 + `"`, Params{}, true},
		{"duplicate signature", `keyId="k",signature="` + b64 + `",signature="` + b64 + `"`, Params{}, true},
		{"missing keyId", `signature="` + b64 + `"`, Params{}, true},
		{"empty keyId", `keyId="",signature="` + b64 + `"`, Params{}, true},
		{"missing signature", `keyId="k",headers="date"`, Params{}, true},
		{"empty headers", `keyId="k",headers="",signature="` + b64 + `"`, Params{}, true},
		{"comma in headers", `keyId="k",headers="date,host",signature="` + b64 + `"`, Params{}, true},
		{"bad created", `keyId="k",created="soon",signature="` + b64 + `"`, Params{}, true},
		{"negative expires", `keyId="k",expires=-5,signature="` + b64 + `"`, Params{}, true},
		{"no value", `keyId,signature="` + b64 + `"`, Params{}, true},
		{"junk after a value", `keyId="k" x,signature="` + b64 + `"`, Params{}, true},
		{"not a parameter", `"k"`, Params{}, true},
		{"empty", ``, Params{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseHeader(tt.in)
			if tt.wantErr {
				if statusOf(err) != http.StatusBadRequest {
					t.Errorf("got %+v, %v; want a 400 error", got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("got %v; want nil", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v; want %+v", got, tt.want)
			}
		})
	}
}

func TestFromRequest(t *testing.T) {
	const v = `keyId="k",signature="3q2+7w=="`
	tests := []struct {
		name    string
		header  http.Header
		wantKey string
		want    int // status of the error, 0 for none
	}{
		{"Signature", http.Header{"Signature": {v}}, "k", 0},
		{"Authorization", http.Header{"Authorization": {"Signature " + v}}, "k", 0},
		{"Authorization scheme in lower case", http.Header{"Authorization": {"signature " + v}}, "k", 0},
		{"Signature wins", http.Header{"Signature": {v}, "Authorization": {`Signature keyId="j",signature="3q2+7w=="`}}, "k", 0},
		{"Bearer only", http.Header{"Authorization": {"Bearer abc"}}, "", 401},
		{"nothing", http.Header{}, "", 401},
		{"two Signature headers", http.Header{"Signature": {v, v}}, "", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := FromRequest(&http.Request{Header: tt.header})
			if statusOf(err) != tt.want || p.KeyID != tt.wantKey {
				t.Errorf("got %q, %v; want %q, status %d", p.KeyID, err, tt.wantKey, tt.want)
			}
		})
	}
}
