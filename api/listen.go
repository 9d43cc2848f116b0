package api

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// listeners holds the process's listeners by address. Several server blocks of a Corefile may
// name the same address, and a Corefile reload starts the new plugin instances while the old
// ones still hold theirs: like CoreDNS's ready and health plugins, one listener serves every
// instance that asks for its address, and closes when the last one goes.
var listeners struct {
	sync.Mutex
	m map[string]*listener
}

type listener struct {
	addr    string
	token   string
	handler *Handler
	srv     *http.Server
	ln      net.Listener
	served  chan struct{} // closed when Serve returns
	users   int
}

// Registration is a provider's place on a listener.
type Registration struct {
	l      *listener
	remove func()
	once   sync.Once
}

// Listen serves the API and the status page for p's zones on addr (host:port), with the
// given token ("" for none). The first registration of an address opens its listener; later
// ones share it, and must bring the same token. Close the registration to take p's zones off;
// the last Close closes the listener.
func Listen(addr, token string, p Provider) (*Registration, error) {
	listeners.Lock()
	defer listeners.Unlock()
	if listeners.m == nil {
		listeners.m = map[string]*listener{}
	}
	l := listeners.m[addr]
	if l != nil && l.token != token {
		return nil, fmt.Errorf("api %s: another block already serves this address with a different token", addr)
	}
	if l == nil {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("api %s: %w", addr, err)
		}
		h := NewHandler(token)
		l = &listener{
			addr: addr, token: token, handler: h, ln: ln, served: make(chan struct{}),
			srv: &http.Server{
				Handler:           h,
				ReadHeaderTimeout: 10 * time.Second,
				ReadTimeout:       30 * time.Second,
				WriteTimeout:      time.Minute,
				IdleTimeout:       2 * time.Minute,
				MaxHeaderBytes:    64 << 10,
			},
		}
		go func() {
			defer close(l.served)
			if err := l.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Errorf("api %s: %v", addr, err)
			}
		}()
		listeners.m[addr] = l
		log.Infof("api: admin API and status page on http://%s/", ln.Addr())
	}
	l.users++
	return &Registration{l: l, remove: l.handler.Add(p)}, nil
}

// Addr is the address the listener is bound to (the port chosen, for port 0).
func (r *Registration) Addr() net.Addr { return r.l.ln.Addr() }

// Close takes the provider's zones off the listener, and closes the listener when it was the
// last user: requests under way get a second to finish. Close may be called more than once.
func (r *Registration) Close() {
	r.once.Do(func() {
		r.remove()
		listeners.Lock()
		defer listeners.Unlock()
		l := r.l
		l.users--
		if l.users > 0 {
			return
		}
		delete(listeners.m, l.addr)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := l.srv.Shutdown(ctx); err != nil {
			l.srv.Close()
		}
		<-l.served
	})
}
