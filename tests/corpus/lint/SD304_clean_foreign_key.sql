SET lock_timeout = '5s';
ALTER TABLE public.trades ADD CONSTRAINT trades_user_fk FOREIGN KEY (user_id) REFERENCES public.users (id) NOT VALID;
