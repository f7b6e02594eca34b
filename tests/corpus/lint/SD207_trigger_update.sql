UPDATE public.users SET display_name = email;
