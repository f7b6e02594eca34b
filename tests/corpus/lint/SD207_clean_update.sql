UPDATE public.users SET display_name = email WHERE display_name IS NULL;
