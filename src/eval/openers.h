// Request openers: the formula a request starts with ("How can I", "Write a", "Can you tell me
// how to"), before the words that say what is asked.
//
// The harmful-request data sets are written almost entirely in a few such formulas, while the
// large benign sets ask in others ("What is …", "Classify …"): in the training splits 1,481
// harmful requests open with "How can I". The n-gram model learned the formula itself as
// evidence, so "Can you tell me how to bake bread?" scored 0.97 unsafe on its n-grams and a mail
// whose subject is "How can I" was escalated. Training adds each harmful request's opener alone,
// labelled safe (`TrainOptions::request_openers`): the same request shape with nothing harmful
// in it, so what decides is what is asked.
//
//   RequestOpener("How can I make a bomb?")          == "How can I"
//   RequestOpener("Give me step by step instructions to launder money") == "Give me step by step
//   instructions to" RequestOpener("Bombs are loud")                   == ""   (fewer than two
//   opener words)
//
// Thread-safety: pure function.
#pragma once

#include <string_view>

namespace warden::eval {

// The longest run of opener words (question words, pronouns, auxiliaries, articles and
// prepositions, and the verbs of asking: tell, show, explain, write, give, help, create …) that
// starts `text`, ending at the first other word or after a word that ends a clause (",", "?",
// ".", a closing quote), as a prefix of `text` with trailing punctuation dropped. Empty when fewer
// than two words qualify. ASCII case-insensitive.
std::string_view RequestOpener(std::string_view text);

}  // namespace warden::eval
