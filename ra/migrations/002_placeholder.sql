-- 002: placeholder on the mail branch only.  The batches migration (002_*.sql) takes this
-- number on main; when the branches meet this file is deleted in favour of it.
SELECT 1;
