// Package mediagate holds the domain of the mediagate media backend: its nouns
// (accounts, users, API keys, objects), the contracts between its parts (stores
// for metadata, blob stores for bytes) and its one error type.
//
// It imports only the standard library. Concrete backends live in packages named
// after their dependency (sqlite, disk, …); the HTTP API lives in api; only
// cmd/mediagate wires them together.
package mediagate
