SET lock_timeout = '5s';
CREATE INDEX CONCURRENTLY IF NOT EXISTS trades_symbol_idx ON public.trades (symbol);
