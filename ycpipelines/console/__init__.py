"""The operation platform's web console (运营平台控制台): sign-in with roles, the review desk,
consumers' deliveries and administration, over the registry's rules (it re-implements none)."""
