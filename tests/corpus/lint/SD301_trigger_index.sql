SET lock_timeout = '5s';
CREATE INDEX IF NOT EXISTS trades_symbol_idx ON public.trades (symbol);
