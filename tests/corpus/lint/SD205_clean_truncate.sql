CREATE TEMP TABLE scratch (id int);
TRUNCATE scratch;
