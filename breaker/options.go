package breaker

import "log/slog"

// Option configures a Suite.
type Option interface{ apply(*options) }

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

type options struct {
	service, instance Config
	classify          Classifier
	onChange          []func(Event)
	logger            *slog.Logger
}

// WithServiceConfig sets the default policy of service-level breakers
// (one per caller, callee service and method). Default: the zero Config,
// which is the package defaults.
func WithServiceConfig(cfg Config) Option {
	return optionFunc(func(o *options) { o.service = cfg })
}

// WithInstanceConfig sets the default policy of instance-level breakers
// (one per instance address). Default: the zero Config.
func WithInstanceConfig(cfg Config) Option {
	return optionFunc(func(o *options) { o.instance = cfg })
}

// WithClassifier sets how call errors count (default DefaultClassifier),
// at both levels. A nil error is always a Success. A nil c keeps the
// default.
func WithClassifier(c Classifier) Option {
	return optionFunc(func(o *options) {
		if c != nil {
			o.classify = c
		}
	})
}

// WithStateChangeHandler adds h, called for every state change of every
// breaker of the suite. A key's changes reach h one at a time, in the
// order they happened; different keys may call h concurrently. h runs on
// the goroutine of a call of the key, after the breaker's lock is
// released (it may call the Suite's methods), so it must be quick; hand
// slow work to another goroutine.
func WithStateChangeHandler(h func(Event)) Option {
	return optionFunc(func(o *options) {
		if h != nil {
			o.onChange = append(o.onChange, h)
		}
	})
}

// WithLogger sets the logger of state changes (default slog.Default()):
// a breaker that opens logs at Warn, other changes at Info.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(o *options) { o.logger = l })
}
