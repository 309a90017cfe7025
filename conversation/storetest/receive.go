package storetest

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/conversation"
	"github.com/relais-ai/relais/internal/testcheck"
)

// unknownID is a conversation id no test creates.
const unknownID = 987654321

func testReceiveCreates(t *testing.T, s conversation.Store) {
	in := inbound("33612345678", "wamid.1", "Bonjour, où est ma commande ? 📦")
	before := time.Now()
	r := receive(t, s, in)
	after := time.Now()

	if r.Duplicate || r.Reopened {
		t.Errorf("first message: Duplicate %v, Reopened %v; want both false", r.Duplicate, r.Reopened)
	}
	c := r.Conversation
	if c.ID <= 0 {
		t.Errorf("conversation ID = %d, want > 0", c.ID)
	}
	testcheck.Within(t, "CreatedAt", c.CreatedAt, before, after)
	want := conversation.Conversation{
		ID: c.ID, CustomerID: in.CustomerID, Channel: whatsapp, State: conversation.Bot,
		CreatedAt: c.CreatedAt, UpdatedAt: c.CreatedAt,
	}
	if d := testcheck.Diff(want, c); d != "" {
		t.Errorf("Receive returned conversation (-want +got):\n%s", d)
	}

	m := r.Message
	if m.ID <= 0 {
		t.Errorf("message ID = %d, want > 0", m.ID)
	}
	testcheck.Within(t, "message CreatedAt", m.CreatedAt, before, after)
	wantMsg := conversation.Message{
		ID: m.ID, ConversationID: c.ID, Role: conversation.Customer, Text: in.Text,
		ChannelMessageID: in.ChannelMessageID, CreatedAt: m.CreatedAt,
	}
	if d := testcheck.Diff([]conversation.Message{wantMsg}, []conversation.Message{m}); d != "" {
		t.Errorf("Receive returned message (-want +got):\n%s", d)
	}

	if d := testcheck.Diff(c, get(t, s, c.ID)); d != "" {
		t.Errorf("Conversation(%d) differs from what Receive returned (-want +got):\n%s", c.ID, d)
	}
	if d := testcheck.Diff([]conversation.Message{m}, messages(t, s, c.ID)); d != "" {
		t.Errorf("Messages (-want +got):\n%s", d)
	}
	if ts := transitions(t, s, c.ID); len(ts) != 0 {
		t.Errorf("a new conversation has transitions %+v, want none", ts)
	}
}

func testReceiveAppends(t *testing.T, s conversation.Store) {
	first := receive(t, s, inbound("alice", "m1", "first"))
	before := time.Now()
	second := receive(t, s, inbound("alice", "m2", "second"))
	after := time.Now()

	if second.Conversation.ID != first.Conversation.ID {
		t.Fatalf("second message went to conversation %d, want the existing %d", second.Conversation.ID, first.Conversation.ID)
	}
	if second.Duplicate || second.Reopened {
		t.Errorf("second message: Duplicate %v, Reopened %v; want both false", second.Duplicate, second.Reopened)
	}
	if second.Message.ID <= first.Message.ID {
		t.Errorf("second message ID %d not after the first's %d", second.Message.ID, first.Message.ID)
	}
	if !second.Conversation.CreatedAt.Equal(first.Conversation.CreatedAt) {
		t.Errorf("CreatedAt changed from %v to %v", first.Conversation.CreatedAt, second.Conversation.CreatedAt)
	}
	testcheck.Within(t, "UpdatedAt", second.Conversation.UpdatedAt, before, after)
	want := []conversation.Message{first.Message, second.Message}
	if d := testcheck.Diff(want, messages(t, s, first.Conversation.ID)); d != "" {
		t.Errorf("Messages (-want +got):\n%s", d)
	}
	if d := testcheck.Diff(second.Conversation, get(t, s, first.Conversation.ID)); d != "" {
		t.Errorf("Conversation differs from what Receive returned (-want +got):\n%s", d)
	}
}

func testReceiveSeparates(t *testing.T, s conversation.Store) {
	ins := []conversation.Inbound{
		{Channel: whatsapp, CustomerID: "alice", Text: "a on whatsapp"},
		{Channel: whatsapp, CustomerID: "bob", Text: "b on whatsapp"},
		{Channel: webchat, CustomerID: "alice", Text: "a on webchat"},
	}
	seen := map[int64]bool{}
	for _, in := range ins {
		r := receive(t, s, in)
		if seen[r.Conversation.ID] {
			t.Errorf("%s on %s went to conversation %d, which another customer or channel has", in.CustomerID, in.Channel, r.Conversation.ID)
		}
		seen[r.Conversation.ID] = true
		if r.Conversation.Channel != in.Channel || r.Conversation.CustomerID != in.CustomerID {
			t.Errorf("conversation is %s/%s, want %s/%s", r.Conversation.Channel, r.Conversation.CustomerID, in.Channel, in.CustomerID)
		}
		if ms := messages(t, s, r.Conversation.ID); len(ms) != 1 || ms[0].Text != in.Text {
			t.Errorf("conversation of %s on %s holds %+v, want its one message", in.CustomerID, in.Channel, ms)
		}
	}
}

func testReceiveInvalid(t *testing.T, s conversation.Store) {
	for _, in := range []conversation.Inbound{
		{Channel: "", CustomerID: "alice", Text: "no channel"},
		{Channel: whatsapp, CustomerID: "", Text: "no customer"},
		{Channel: whatsapp, CustomerID: strings.Repeat("c", conversation.MaxCustomerIDBytes+1), Text: "long customer id"},
		{Channel: whatsapp, CustomerID: "alice", ChannelMessageID: strings.Repeat("m", conversation.MaxChannelMessageIDBytes+1), Text: "long message id"},
	} {
		_, err := s.Receive(t.Context(), in)
		testcheck.WantErr(t, fmt.Sprintf("Receive(%.80v)", in), err, relais.ErrInvalid)
	}
	// At the limits, both ids are taken.
	in := conversation.Inbound{Channel: whatsapp, CustomerID: strings.Repeat("c", conversation.MaxCustomerIDBytes),
		ChannelMessageID: strings.Repeat("m", conversation.MaxChannelMessageIDBytes), Text: "longest ids"}
	if _, err := s.Receive(t.Context(), in); err != nil {
		t.Errorf("Receive with ids of %d and %d bytes: %v", conversation.MaxCustomerIDBytes, conversation.MaxChannelMessageIDBytes, err)
	}
}

func testReceiveConversationID(t *testing.T, s conversation.Store) {
	c := start(t, s, "alice")
	in := inbound("alice", "", "continuing")
	in.ConversationID = c.ID
	r := receive(t, s, in)
	if r.Conversation.ID != c.ID || r.Message.ConversationID != c.ID {
		t.Errorf("message went to conversation %d (message says %d), want %d", r.Conversation.ID, r.Message.ConversationID, c.ID)
	}
	if n := len(messages(t, s, c.ID)); n != 2 {
		t.Errorf("conversation holds %d messages, want 2", n)
	}
}

func testReceiveOtherCustomersConversation(t *testing.T, s conversation.Store) {
	a := start(t, s, "alice")
	b := start(t, s, "bob")
	tests := []struct {
		name string
		in   conversation.Inbound
	}{
		{"another customer's", conversation.Inbound{Channel: whatsapp, CustomerID: "bob", ConversationID: a.ID, ChannelMessageID: "x1", Text: "hijack"}},
		{"the customer's id on another channel", conversation.Inbound{Channel: webchat, CustomerID: "alice", ConversationID: a.ID, ChannelMessageID: "x2", Text: "other channel"}},
		{"unknown", conversation.Inbound{Channel: whatsapp, CustomerID: "alice", ConversationID: unknownID, ChannelMessageID: "x3", Text: "nowhere"}},
	}
	for _, tt := range tests {
		_, err := s.Receive(t.Context(), tt.in)
		testcheck.WantErr(t, "Receive into "+tt.name+" conversation", err, relais.ErrNotFound)
	}
	for _, c := range []conversation.Conversation{a, b} {
		if n := len(messages(t, s, c.ID)); n != 1 {
			t.Errorf("conversation %d holds %d messages after refused deliveries, want 1", c.ID, n)
		}
	}
	// Nothing of a refused delivery was kept: its id is still free.
	for _, tt := range tests {
		in := tt.in
		in.ConversationID = 0
		if r := receive(t, s, in); r.Duplicate {
			t.Errorf("%s: a refused delivery's channel message id %q was kept", tt.name, in.ChannelMessageID)
		}
	}
}

func testReceiveDeduplicates(t *testing.T, s conversation.Store) {
	first := receive(t, s, inbound("alice", "wamid.HBgL", "first delivery"))
	redelivered := inbound("alice", "wamid.HBgL", "a redelivery never differs, but if it did the stored text wins")
	for i := range 2 {
		r := receive(t, s, redelivered)
		if !r.Duplicate || r.Reopened {
			t.Errorf("redelivery %d: Duplicate %v, Reopened %v; want true, false", i+1, r.Duplicate, r.Reopened)
		}
		if d := testcheck.Diff([]conversation.Message{first.Message}, []conversation.Message{r.Message}); d != "" {
			t.Errorf("redelivery %d returned message (-want +got):\n%s", i+1, d)
		}
		if d := testcheck.Diff(first.Conversation, r.Conversation); d != "" {
			t.Errorf("redelivery %d returned conversation (-want +got):\n%s", i+1, d)
		}
	}
	if d := testcheck.Diff([]conversation.Message{first.Message}, messages(t, s, first.Conversation.ID)); d != "" {
		t.Errorf("Messages after redeliveries (-want +got):\n%s", d)
	}
	if d := testcheck.Diff(first.Conversation, get(t, s, first.Conversation.ID)); d != "" {
		t.Errorf("a redelivery changed the conversation (-want +got):\n%s", d)
	}
}

func testReceiveDedupPerChannel(t *testing.T, s conversation.Store) {
	a := receive(t, s, conversation.Inbound{Channel: whatsapp, CustomerID: "alice", ChannelMessageID: "42", Text: "on whatsapp"})
	b := receive(t, s, conversation.Inbound{Channel: webchat, CustomerID: "alice", ChannelMessageID: "42", Text: "on webchat"})
	if b.Duplicate {
		t.Error("the same channel message id on another channel was taken for a duplicate")
	}
	if a.Message.ID == b.Message.ID {
		t.Errorf("both channels' messages have ID %d", a.Message.ID)
	}
}

func testReceiveEmptyID(t *testing.T, s conversation.Store) {
	first := receive(t, s, inbound("alice", "", "same text"))
	second := receive(t, s, inbound("alice", "", "same text"))
	if second.Duplicate {
		t.Error("a message without a channel message id was taken for a duplicate")
	}
	if n := len(messages(t, s, first.Conversation.ID)); n != 2 {
		t.Errorf("conversation holds %d messages, want 2", n)
	}
}

func testReceiveDuplicateOtherCustomer(t *testing.T, s conversation.Store) {
	a := receive(t, s, inbound("alice", "wamid.shared", "alice's message"))
	_, err := s.Receive(t.Context(), inbound("bob", "wamid.shared", "bob's"))
	testcheck.WantErr(t, "Receive of another customer's channel message id", err, relais.ErrConflict)
	if n := len(messages(t, s, a.Conversation.ID)); n != 1 {
		t.Errorf("alice's conversation holds %d messages, want 1", n)
	}
	// Bob got no conversation out of it: his first message starts one.
	b := receive(t, s, inbound("bob", "wamid.bob", "hello"))
	if n := len(messages(t, s, b.Conversation.ID)); n != 1 {
		t.Errorf("bob's conversation holds %d messages, want 1", n)
	}
}

func testReceiveDuplicateNoReopen(t *testing.T, s conversation.Store) {
	first := receive(t, s, inbound("alice", "wamid.1", "hello"))
	resolved := moveTo(t, s, first.Conversation.ID, conversation.Resolved)
	n := len(transitions(t, s, resolved.ID))

	r := receive(t, s, inbound("alice", "wamid.1", "hello"))
	if !r.Duplicate || r.Reopened {
		t.Errorf("late redelivery: Duplicate %v, Reopened %v; want true, false", r.Duplicate, r.Reopened)
	}
	if d := testcheck.Diff(resolved, r.Conversation); d != "" {
		t.Errorf("late redelivery returned conversation (-want +got):\n%s", d)
	}
	if d := testcheck.Diff(resolved, get(t, s, resolved.ID)); d != "" {
		t.Errorf("late redelivery changed the conversation (-want +got):\n%s", d)
	}
	if got := len(transitions(t, s, resolved.ID)); got != n {
		t.Errorf("late redelivery recorded %d transitions", got-n)
	}
}

// runConcurrently calls fn(i) for i in [0, n) from n goroutines released at
// once, and waits for them.
func runConcurrently(n int, fn func(i int)) {
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			fn(i)
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
}

func testReceiveConcurrentDuplicates(t *testing.T, s conversation.Store) {
	const deliveries = 20
	results := make([]conversation.Received, deliveries)
	errs := make([]error, deliveries)
	runConcurrently(deliveries, func(i int) {
		results[i], errs[i] = s.Receive(t.Context(), inbound("alice", "wamid.storm", "once"))
	})
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("concurrent deliveries: %v", err)
	}
	stored := 0
	for i, r := range results {
		if !r.Duplicate {
			stored++
		}
		if r.Message.ID != results[0].Message.ID || r.Conversation.ID != results[0].Conversation.ID {
			t.Errorf("delivery %d: message %d in conversation %d; delivery 0: message %d in conversation %d",
				i, r.Message.ID, r.Conversation.ID, results[0].Message.ID, results[0].Conversation.ID)
		}
	}
	if stored != 1 {
		t.Errorf("%d of %d deliveries of one message were not duplicates, want 1", stored, deliveries)
	}
	if ms := messages(t, s, results[0].Conversation.ID); len(ms) != 1 {
		t.Errorf("%d messages stored, want 1: %+v", len(ms), ms)
	}
}

func testReceiveConcurrentFirst(t *testing.T, s conversation.Store) {
	const n = 10
	results := make([]conversation.Received, n)
	errs := make([]error, n)
	runConcurrently(n, func(i int) {
		results[i], errs[i] = s.Receive(t.Context(), inbound("alice", fmt.Sprintf("wamid.%d", i), "burst"))
	})
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("concurrent first messages: %v", err)
	}
	for i, r := range results {
		if r.Duplicate {
			t.Errorf("message %d was taken for a duplicate", i)
		}
		if r.Conversation.ID != results[0].Conversation.ID {
			t.Errorf("message %d went to conversation %d, message 0 to %d: one customer got two conversations",
				i, r.Conversation.ID, results[0].Conversation.ID)
		}
	}
	if got := len(messages(t, s, results[0].Conversation.ID)); got != n {
		t.Errorf("conversation holds %d messages, want %d", got, n)
	}
}

func testReceiveReopens(t *testing.T, s conversation.Store) {
	c := start(t, s, "alice")
	if err := s.SetBotMemory(t.Context(), c.ID, true, 2, "fr"); err != nil {
		t.Fatal(err)
	}
	moveTo(t, s, c.ID, conversation.Resolved)

	before := time.Now()
	r := receive(t, s, inbound("alice", "wamid.again", "rebonjour"))
	after := time.Now()
	if !r.Reopened || r.Duplicate {
		t.Errorf("message to a resolved conversation: Reopened %v, Duplicate %v; want true, false", r.Reopened, r.Duplicate)
	}
	got := r.Conversation
	if got.ID != c.ID {
		t.Fatalf("message went to conversation %d, want the resolved one %d, reopened", got.ID, c.ID)
	}
	if got.State != conversation.Bot || got.AgentID != "" {
		t.Errorf("reopened conversation is %s (agent %q), want bot with no agent", got.State, got.AgentID)
	}
	if got.AwaitingFeedback || got.Failures != 0 || got.Language != "fr" {
		t.Errorf("reopened conversation's bot memory: AwaitingFeedback %v, Failures %d, Language %q; want false, 0, \"fr\"",
			got.AwaitingFeedback, got.Failures, got.Language)
	}
	testcheck.Within(t, "UpdatedAt", got.UpdatedAt, before, after)
	if d := testcheck.Diff(got, get(t, s, c.ID)); d != "" {
		t.Errorf("Conversation differs from what Receive returned (-want +got):\n%s", d)
	}
	if ms := messages(t, s, c.ID); len(ms) != 2 || ms[0].Text != "hello" || ms[1].Text != "rebonjour" {
		t.Errorf("reopened conversation's messages = %+v, want its history and the new message", ms)
	}

	ts := transitions(t, s, c.ID)
	last := ts[len(ts)-1]
	if last.From != conversation.Resolved || last.To != conversation.Bot || last.Actor != "customer" ||
		last.ConversationID != c.ID || last.Reason == "" {
		t.Errorf("last transition = %+v, want resolved -> bot by \"customer\", with a reason", last)
	}
	testcheck.Within(t, "reopen transition At", last.At, before, after)

	if again := receive(t, s, inbound("alice", "wamid.again2", "still there?")); again.Reopened {
		t.Error("a message to a reopened conversation reopened it again")
	}
}

func testReceiveConcurrentReopen(t *testing.T, s conversation.Store) {
	c := start(t, s, "alice")
	moveTo(t, s, c.ID, conversation.Resolved)
	const n = 10
	results := make([]conversation.Received, n)
	errs := make([]error, n)
	runConcurrently(n, func(i int) {
		results[i], errs[i] = s.Receive(t.Context(), inbound("alice", fmt.Sprintf("wamid.%d", i), "anyone?"))
	})
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("concurrent messages: %v", err)
	}
	reopened := 0
	for i, r := range results {
		if r.Reopened {
			reopened++
		}
		if r.Conversation.ID != c.ID {
			t.Errorf("message %d went to conversation %d, want %d", i, r.Conversation.ID, c.ID)
		}
	}
	if reopened != 1 {
		t.Errorf("%d of %d concurrent messages reopened the conversation, want 1", reopened, n)
	}
	if got := countMoves(transitions(t, s, c.ID), conversation.Resolved, conversation.Bot); got != 1 {
		t.Errorf("%d resolved -> bot transitions recorded, want 1", got)
	}
	if got := len(messages(t, s, c.ID)); got != n+1 {
		t.Errorf("conversation holds %d messages, want %d", got, n+1)
	}
}

func countMoves(ts []conversation.Transition, from, to conversation.State) int {
	n := 0
	for _, tr := range ts {
		if tr.From == from && tr.To == to {
			n++
		}
	}
	return n
}

// checkHistory checks that a conversation's state is where its recorded
// transitions lead, and that they chain.
func checkHistory(t *testing.T, s conversation.Store, id int64) {
	t.Helper()
	state := conversation.Bot
	for i, tr := range transitions(t, s, id) {
		if tr.From != state {
			t.Errorf("transition %d goes from %s, but the one before left the conversation %s", i, tr.From, state)
		}
		state = tr.To
	}
	if got := get(t, s, id).State; got != state {
		t.Errorf("conversation %d is %s, its transitions end in %s", id, got, state)
	}
}

func testReceiveKeepsOwner(t *testing.T, s conversation.Store) {
	for _, state := range []conversation.State{conversation.Queued, conversation.Agent} {
		c := start(t, s, "customer-"+string(state))
		c = moveTo(t, s, c.ID, state)
		n := len(transitions(t, s, c.ID))

		r := receive(t, s, inbound(c.CustomerID, "", "are you there?"))
		if r.Reopened || r.Duplicate {
			t.Errorf("%s: Reopened %v, Duplicate %v; want both false", state, r.Reopened, r.Duplicate)
		}
		if r.Conversation.ID != c.ID || r.Conversation.State != state || r.Conversation.AgentID != c.AgentID {
			t.Errorf("%s: message went to conversation %d (%s, agent %q), want %d unchanged (%s, agent %q)",
				state, r.Conversation.ID, r.Conversation.State, r.Conversation.AgentID, c.ID, state, c.AgentID)
		}
		if got := len(messages(t, s, c.ID)); got != 2 {
			t.Errorf("%s: conversation holds %d messages, want 2", state, got)
		}
		if got := len(transitions(t, s, c.ID)); got != n {
			t.Errorf("%s: a customer message recorded %d transitions", state, got-n)
		}
	}
}

func testReceiveRacesResolve(t *testing.T, s conversation.Store) {
	// Two races, a few rounds each: a customer message against the agent
	// resolving the conversation, and against the system returning a
	// resolved one to the bot. Whichever wins, no message is lost, the
	// conversation is reopened at most once and its state is where its
	// history says. The transition starts a little later each round, so that
	// over the rounds it lands at every step of the Receive it races.
	const rounds = 12
	delay := func(round int) { time.Sleep(time.Duration(round) * 150 * time.Microsecond) }
	for round := range rounds {
		customer := fmt.Sprintf("resolve-%d", round)
		c := moveTo(t, s, start(t, s, customer).ID, conversation.Agent)
		var r conversation.Received
		var recvErr, moveErr error
		runConcurrently(2, func(i int) {
			if i == 0 {
				r, recvErr = s.Receive(t.Context(), inbound(customer, "", "one more thing"))
			} else {
				delay(round)
				_, moveErr = s.Transition(t.Context(), c.ID, conversation.Agent, conversation.Resolved, alice, "done")
			}
		})
		if recvErr != nil || moveErr != nil {
			t.Fatalf("round %d: Receive: %v; Transition: %v", round, recvErr, moveErr)
		}
		got := get(t, s, c.ID)
		if r.Reopened != (got.State == conversation.Bot) {
			t.Errorf("round %d: Reopened %v but the conversation is %s", round, r.Reopened, got.State)
		}
		if n := len(messages(t, s, c.ID)); n != 2 {
			t.Errorf("round %d: conversation holds %d messages, want 2", round, n)
		}
		checkHistory(t, s, c.ID)
	}

	for round := range rounds {
		customer := fmt.Sprintf("reopen-%d", round)
		c := moveTo(t, s, start(t, s, customer).ID, conversation.Resolved)
		var r conversation.Received
		var recvErr, moveErr error
		runConcurrently(2, func(i int) {
			if i == 0 {
				r, recvErr = s.Receive(t.Context(), inbound(customer, "", "hello again"))
			} else {
				delay(round)
				_, moveErr = s.Transition(t.Context(), c.ID, conversation.Resolved, conversation.Bot, "system", "reopened")
			}
		})
		if recvErr != nil {
			t.Fatalf("round %d: Receive: %v", round, recvErr)
		}
		if moveErr != nil && !errors.Is(moveErr, relais.ErrConflict) {
			t.Fatalf("round %d: Transition: %v, want success or relais.ErrConflict", round, moveErr)
		}
		if r.Reopened == (moveErr == nil) {
			t.Errorf("round %d: Receive reopened %v, Transition error %v: exactly one of them must reopen", round, r.Reopened, moveErr)
		}
		if n := countMoves(transitions(t, s, c.ID), conversation.Resolved, conversation.Bot); n != 1 {
			t.Errorf("round %d: %d resolved -> bot transitions recorded, want 1", round, n)
		}
		checkHistory(t, s, c.ID)
	}
}
