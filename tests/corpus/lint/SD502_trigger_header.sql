-- Migration: add_notes
-- Purpose: notes
SELECT 1;
