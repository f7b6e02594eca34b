SET lock_timeout = '5s';
ALTER TABLE public.trades RENAME TO executions;
