package identity

import (
	"encoding/json"
	"time"
)

// Event is a fact the service publishes through its transactional outbox.
// The store appends it in the same transaction as the change it describes.
type Event struct {
	// Topic says what happened (one of the Topic* constants).
	Topic string
	// AggregateID is the entity the event is about (a user, session, key or
	// client id).
	AggregateID string
	// Payload is the JSON encoding of the topic's payload type.
	Payload []byte
}

// The event topics, with the payload type of each. The ".v1" suffix
// versions the payload.
const (
	// TopicUserRegistered: an account was created (UserEvent).
	TopicUserRegistered = "identity.user.registered.v1"
	// TopicUserUpdated: the display name changed (UserEvent).
	TopicUserUpdated = "identity.user.updated.v1"
	// TopicUserPasswordChanged: the password changed and the user's
	// sessions were revoked (UserEvent).
	TopicUserPasswordChanged = "identity.user.password_changed.v1"
	// TopicUserRolesChanged: the roles were replaced (UserEvent).
	TopicUserRolesChanged = "identity.user.roles_changed.v1"
	// TopicSessionStarted: a login (SessionEvent).
	TopicSessionStarted = "identity.session.started.v1"
	// TopicSessionRefreshed: a refresh token was rotated (SessionEvent).
	TopicSessionRefreshed = "identity.session.refreshed.v1"
	// TopicSessionRevoked: a session was ended by logout or by refresh
	// token reuse (SessionEvent with Reason).
	TopicSessionRevoked = "identity.session.revoked.v1"
	// TopicAPIKeyCreated (APIKeyEvent).
	TopicAPIKeyCreated = "identity.api_key.created.v1"
	// TopicAPIKeyRevoked (APIKeyEvent): services caching API key checks
	// should drop the key.
	TopicAPIKeyRevoked = "identity.api_key.revoked.v1"
	// TopicClientCreated (ClientEvent).
	TopicClientCreated = "identity.client.created.v1"
	// TopicSigningKeyPublished: a new key is in the key set
	// (SigningKeyEvent).
	TopicSigningKeyPublished = "identity.signing_key.published.v1"
	// TopicSigningKeyRescheduled: a key signs for longer because its
	// successor could not be published in time (SigningKeyEvent).
	TopicSigningKeyRescheduled = "identity.signing_key.rescheduled.v1"
	// TopicSigningKeyRemoved: a key left the key set (SigningKeyEvent).
	TopicSigningKeyRemoved = "identity.signing_key.removed.v1"
)

// The reasons a session is revoked (SessionEvent.Reason).
const (
	RevokedByLogout         = "logout"
	RevokedByReuse          = "refresh_token_reused"
	RevokedByPasswordChange = "password_changed"
)

// UserEvent is the payload of the identity.user.* events. It never carries
// the password hash.
type UserEvent struct {
	UserID      string    `json:"user_id"`
	Email       string    `json:"email"`
	DisplayName string    `json:"display_name"`
	Roles       []string  `json:"roles"`
	CreateTime  time.Time `json:"create_time"`
}

// SessionEvent is the payload of the identity.session.* events.
type SessionEvent struct {
	SessionID string    `json:"session_id"`
	UserID    string    `json:"user_id"`
	Time      time.Time `json:"time"`
	Reason    string    `json:"reason,omitempty"`
}

// APIKeyEvent is the payload of the identity.api_key.* events.
type APIKeyEvent struct {
	APIKeyID   string     `json:"api_key_id"`
	UserID     string     `json:"user_id"`
	Scopes     []string   `json:"scopes"`
	ExpireTime *time.Time `json:"expire_time,omitempty"`
	Time       time.Time  `json:"time"`
}

// ClientEvent is the payload of the identity.client.* events.
type ClientEvent struct {
	ClientID string    `json:"client_id"`
	Name     string    `json:"name"`
	Scopes   []string  `json:"scopes"`
	Time     time.Time `json:"time"`
}

// SigningKeyEvent is the payload of the identity.signing_key.* events.
type SigningKeyEvent struct {
	KeyID        string    `json:"kid"`
	ActivateTime time.Time `json:"activate_time"`
	RetireTime   time.Time `json:"retire_time"`
	ExpireTime   time.Time `json:"expire_time"`
}

// newEvent encodes payload as JSON. The payload types hold only strings,
// string slices and times, which always encode, so an error is a bug.
func newEvent(topic, aggregateID string, payload any) Event {
	b, err := json.Marshal(payload)
	if err != nil {
		panic("identity: encoding " + topic + " event: " + err.Error())
	}
	return Event{Topic: topic, AggregateID: aggregateID, Payload: b}
}

func userEvent(topic string, u *User) Event {
	return newEvent(topic, u.ID, UserEvent{
		UserID: u.ID, Email: u.Email, DisplayName: u.DisplayName, Roles: nonNil(u.Roles), CreateTime: u.CreateTime,
	})
}

func sessionEvent(topic string, s *Session, at time.Time, reason string) Event {
	return newEvent(topic, s.ID, SessionEvent{SessionID: s.ID, UserID: s.UserID, Time: at, Reason: reason})
}

func apiKeyEvent(topic string, k *APIKey, at time.Time) Event {
	e := APIKeyEvent{APIKeyID: k.ID, UserID: k.UserID, Scopes: nonNil(k.Scopes), Time: at}
	if !k.ExpireTime.IsZero() {
		e.ExpireTime = &k.ExpireTime
	}
	return newEvent(topic, k.ID, e)
}

func signingKeyEvent(topic string, k *SigningKey) Event {
	return newEvent(topic, k.ID, SigningKeyEvent{
		KeyID: k.ID, ActivateTime: k.ActivateTime, RetireTime: k.RetireTime, ExpireTime: k.ExpireTime,
	})
}

// nonNil makes an empty list encode as [] rather than null.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
