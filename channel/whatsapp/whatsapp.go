// Package whatsapp is the WhatsApp Business Cloud API channel: the webhook
// that verifies, stores and hands on customers' messages, and the Sender
// that delivers the assistant's replies through the Graph API (an answer
// that asks "did this help?" with Yes/No reply buttons), and the
// click-to-chat link and QR code (Entry) shops print.
//
// Supported so far: text messages and interactive button replies (their
// title is the customer's text). Other message types (image, audio, video,
// document, location, sticker, reaction, ...) are not supported yet: they
// are skipped with a debug log and never turned into invented text.
// Delivery statuses are not read yet either.
package whatsapp

// Channel is the channel name WhatsApp messages carry in Relais.
const Channel = "whatsapp"
