"""GitHub Actions workflows for a project: `supadeploy ci init`."""
