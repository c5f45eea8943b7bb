package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// interrupted is the cause of a server's stop by a signal.
type interrupted struct{ sig os.Signal }

func (i interrupted) Error() string { return "stopped by " + i.sig.String() }

// untilSignal returns a context cancelled by SIGINT or SIGTERM, with the
// signal as its cause.
func untilSignal(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(parent)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		select {
		case s := <-sigs:
			cancel(interrupted{s})
		case <-ctx.Done():
		}
	}()
	return ctx, func() { signal.Stop(sigs); cancel(nil) }
}

// stoppedExit is how a server that ctx stopped exits: 130 after Ctrl-C
// (SIGINT), as a shell reports an interrupted command; 0 after SIGTERM, the
// clean stop of a service manager or Kubernetes.
func stoppedExit(ctx context.Context) error {
	var i interrupted
	if errors.As(context.Cause(ctx), &i) && i.sig == os.Interrupt {
		return &handoffExit{code: 130}
	}
	return nil
}

// announce logs a service's start line whatever --log-level says: the
// address it listens on and what it enforces, so that a person can see at a
// glance which trust root and policy a running service uses.
func announce(log *slog.Logger, msg string, addr net.Addr, attrs ...any) {
	r := slog.NewRecord(time.Now(), slog.LevelInfo, msg, 0)
	r.Add(append([]any{"addr", addr.String()}, attrs...)...)
	_ = log.Handler().Handle(context.Background(), r)
}
