// Package whatsapp is the WhatsApp Business Cloud API channel: the webhook
// that verifies, stores and hands on customers' messages, and the Sender
// that delivers the assistant's replies through the Graph API (an answer
// that asks "did this help?" with Yes/No reply buttons), and the
// click-to-chat link and QR code (Entry) shops print.
//
// Every message type is taken: texts and tapped replies go to the
// assistant; photos and documents are downloaded (Handler) and handed to a
// person; other types get a request for text or a handoff. Delivery
// statuses are recorded on the sent messages.
package whatsapp

// Channel is the channel name WhatsApp messages carry in Relais.
const Channel = "whatsapp"
