package mastoapi

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// maxBody caps the body of every request that is not an upload.
const maxBody = 1 << 20

// params are a request's parameters, from wherever the client put them:
// the query string (Ice Cubes registers its app there), a form, or a JSON
// body (toot and Elk send JSON). JSON is flattened into the names a form
// would use: {"media_ids": ["1"]} becomes media_ids[]=1, {"poll":
// {"options": ["a"]}} becomes poll[options][]=a, and an array of objects
// gets indexes, fields_attributes[0][name].
type params struct {
	url.Values
}

// errBadBody is a body that could not be read as what its type says.
var errBadBody = errors.New("the request body could not be read")

// readParams reads the query and, for requests with a body, the body (a
// form or JSON) within maxBody. Multipart forms are read by the upload
// handlers themselves, with their own limit.
func readParams(w http.ResponseWriter, r *http.Request) (params, error) {
	p := params{Values: url.Values{}}
	for k, vs := range r.URL.Query() {
		p.Values[k] = append(p.Values[k], vs...)
	}
	if r.Body == nil || r.Method == http.MethodGet || r.Method == http.MethodHead {
		return p, nil
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "multipart/form-data":
		return p, nil
	case "application/json":
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			return p, err
		}
		if len(strings.TrimSpace(string(body))) == 0 {
			return p, nil
		}
		var v any
		if err := json.Unmarshal(body, &v); err != nil {
			return p, errBadBody
		}
		obj, ok := v.(map[string]any)
		if !ok {
			return p, errBadBody
		}
		for k, val := range obj {
			flatten(p.Values, k, val)
		}
	default:
		// Forms, and bodies sent without a type (Mammoth's "EOF" on
		// GoToSocial came from refusing those): read as a form.
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			return p, err
		}
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return p, errBadBody
		}
		for k, vs := range form {
			p.Values[k] = append(p.Values[k], vs...)
		}
	}
	return p, nil
}

// flatten adds a JSON value under the form name key.
func flatten(out url.Values, key string, v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, val := range v {
			flatten(out, key+"["+k+"]", val)
		}
	case []any:
		for i, val := range v {
			switch val.(type) {
			case map[string]any, []any:
				flatten(out, key+"["+strconv.Itoa(i)+"]", val)
			default:
				flatten(out, key+"[]", val)
			}
		}
	case string:
		out.Add(key, v)
	case bool:
		out.Add(key, strconv.FormatBool(v))
	case float64:
		out.Add(key, strconv.FormatFloat(v, 'f', -1, 64))
	case nil:
		out.Add(key, "")
	}
}

// list returns the values of name[] and of name: clients send arrays
// either way (media_ids[]=1&media_ids[]=2, or scopes as one string).
func (p params) list(name string) []string {
	return append(append([]string{}, p.Values[name+"[]"]...), p.Values[name]...)
}

// has reports whether name was sent at all, even empty.
func (p params) has(name string) bool {
	_, ok := p.Values[name]
	return ok
}

// bool reads a boolean the way Rails does: "true", "1", "on" and "t" are
// true; anything else, or nothing, is false.
func (p params) bool(name string) bool {
	switch strings.ToLower(p.Get(name)) {
	case "true", "1", "on", "t", "yes":
		return true
	}
	return false
}
