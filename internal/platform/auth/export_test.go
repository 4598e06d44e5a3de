package auth

// TokenCacheLen returns how many verified tokens a remembers, for the
// cache's tests; 0 when caching is off.
func TokenCacheLen(a *Authenticator) int {
	if a.cache == nil {
		return 0
	}
	return a.cache.len()
}
