"""Communications: templates filled from live state, decision exports, and the clipboard chain."""
