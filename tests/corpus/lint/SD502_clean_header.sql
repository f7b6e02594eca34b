-- Migration: add_notes
-- Purpose: notes
-- Date: 2024-05-01
-- Author: a@example.com
-- Breaking Changes: none
-- Rollback: SELECT 1;
SELECT 1;
