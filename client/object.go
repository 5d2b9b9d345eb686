package client

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"mediagate/apiv1"
)

// The states of an object.
const (
	StatePending = "pending" // declared, bytes not yet verified
	StateReady   = "ready"   // verified and downloadable
	StateDeleted = "deleted" // gone
)

// Object is a stored file. Size, SHA256 and ContentType are as declared while
// the object is pending and as measured once it is ready.
type Object = apiv1.Object

// ObjectFilter selects a page of objects. Zero values mean "any" (State ""
// means pending and ready).
type ObjectFilter struct {
	Limit  int    // page size, 1..1000; 0: the server's default (100)
	Cursor string // NextCursor of the previous page
	State  string // pending, ready or deleted
	Type   string // exact content type, or a major type with a slash ("image/")
	Pinned *bool  // only pinned (true) or unpinned (false) objects
	// Name keeps objects whose filename contains it: A–Z and a–z match each
	// other, every other character only itself; % and _ are not wildcards.
	// At most 200 bytes.
	Name string
}

// ObjectPage is one page of objects, newest first; NextCursor is "" on the last.
type ObjectPage = apiv1.ObjectPage

// Objects returns one page of the account's objects.
func (c *Client) Objects(ctx context.Context, f ObjectFilter) (*ObjectPage, error) {
	q := url.Values{}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	for k, v := range map[string]string{"cursor": f.Cursor, "state": f.State, "type": f.Type, "name": f.Name} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if f.Pinned != nil {
		q.Set("pinned", strconv.FormatBool(*f.Pinned))
	}
	path := "/v1/objects"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var out ObjectPage
	if err := c.do(ctx, call{method: http.MethodGet, path: path, out: &out, want: http.StatusOK}); err != nil {
		return nil, err
	}
	return &out, nil
}

// AllObjects yields every object f selects, following the cursor from page
// to page, starting at f.Cursor. It stops at the first error, which it yields.
func (c *Client) AllObjects(ctx context.Context, f ObjectFilter) iter.Seq2[*Object, error] {
	return func(yield func(*Object, error) bool) {
		for {
			page, err := c.Objects(ctx, f)
			if err != nil {
				yield(nil, err)
				return
			}
			for i := range page.Objects {
				if !yield(&page.Objects[i], nil) {
					return
				}
			}
			if page.NextCursor == "" || page.NextCursor == f.Cursor {
				return
			}
			f.Cursor = page.NextCursor
		}
	}
}

// Object returns one object; not_found if it is absent or deleted.
func (c *Client) Object(ctx context.Context, id string) (*Object, error) {
	return c.objectCall(ctx, http.MethodGet, "/v1/objects/"+pathID(id))
}

// DeleteObject deletes an object and its bytes.
func (c *Client) DeleteObject(ctx context.Context, id string) error {
	return c.do(ctx, call{method: http.MethodDelete, path: "/v1/objects/" + pathID(id), want: http.StatusNoContent})
}

// Pin pins a ready object (conflict if it is not ready) and returns it.
func (c *Client) Pin(ctx context.Context, id string) (*Object, error) {
	return c.objectCall(ctx, http.MethodPost, "/v1/objects/"+pathID(id)+"/pin")
}

// Unpin unpins an object and returns it.
func (c *Client) Unpin(ctx context.Context, id string) (*Object, error) {
	return c.objectCall(ctx, http.MethodDelete, "/v1/objects/"+pathID(id)+"/pin")
}

func (c *Client) objectCall(ctx context.Context, method, path string) (*Object, error) {
	var out Object
	if err := c.do(ctx, call{method: method, path: path, out: &out, want: http.StatusOK}); err != nil {
		return nil, err
	}
	return &out, nil
}

// SignedURL is a request the server signed: send it as it is, with exactly
// these headers and no credential, before ExpiresAt.
type SignedURL = apiv1.SignedURL

// DownloadURL signs a GET URL for a ready object that lasts expiresIn
// (rounded up to a second; 0: the server's default). The URL needs no
// credential, takes Range requests and names the file in Content-Disposition.
func (c *Client) DownloadURL(ctx context.Context, id string, expiresIn time.Duration) (*SignedURL, error) {
	in := apiv1.DownloadURLRequest{ExpiresIn: int64((expiresIn + time.Second - 1) / time.Second)}
	var out apiv1.DownloadURLResponse
	if err := c.do(ctx, call{method: http.MethodPost, path: "/v1/objects/" + pathID(id) + "/url", in: in, out: &out, want: http.StatusOK}); err != nil {
		return nil, err
	}
	return &SignedURL{Method: out.Method, URL: out.URL, ExpiresAt: out.ExpiresAt}, nil
}
