"""The Supabase Management API: a typed httpx client with retries, rate-limit pacing and clear errors."""

from supadeploy.management_api.client import DEFAULT_API_URL, ManagementApiClient, RetryPolicy

__all__ = ["DEFAULT_API_URL", "ManagementApiClient", "RetryPolicy"]
