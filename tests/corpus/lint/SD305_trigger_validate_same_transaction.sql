SET lock_timeout = '5s';
ALTER TABLE public.trades ADD CONSTRAINT trades_fees_check CHECK (fees >= 0) NOT VALID;
ALTER TABLE public.trades VALIDATE CONSTRAINT trades_fees_check;
