package redis

import (
	"context"
	"fmt"
	"log/slog"

	goredis "github.com/redis/go-redis/v9"
)

// LogTo sends go-redis's own messages (connection pool trouble, mostly),
// which it otherwise prints as plain text on stderr, to logger as warnings.
// go-redis has one logger per process, so this is for main to call.
func LogTo(logger *slog.Logger) { goredis.SetLogger(slogLogger{logger}) }

type slogLogger struct{ l *slog.Logger }

func (s slogLogger) Printf(ctx context.Context, format string, v ...any) {
	s.l.WarnContext(ctx, "redis: "+fmt.Sprintf(format, v...))
}
