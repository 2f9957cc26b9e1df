"""The text front end: what a listener would hear wrong if these broke."""
from __future__ import annotations

import pytest

from synthesis.engines import UnsupportedLanguage, available_languages
from synthesis.frontend import (MAX_CHARACTERS_PER_JOB, TextTooLong, phonemize, prepare_text, resolve_language,
                                split_sentences)
from synthesis.frontend.chinese import chinese_phonemes
from synthesis.frontend.english import english_phonemes
from synthesis.frontend.normalize import normalize_chinese, normalize_english
from synthesis.frontend.overrides import InvalidOverride, arpabet_to_ipa, pinyin_to_numbered


@pytest.mark.parametrize("text, spoken", [
    ("他有3个苹果", "他有三个苹果"),
    ("2024年3月5日", "二零二四年三月五日"),
    ("涨了12.5%", "涨了百分之十二点五"),
    ("花了¥1,280元", "花了一千二百八十元"),
    ("花了$20", "花了二十美元"),
    ("重5kg", "重五千克"),
    ("速度120km/h", "速度一百二十千米每小时"),
    ("温度-3℃", "温度零下三度"),
    ("我用iPhone开会", "我用iPhone开会"),  # Latin words are not read as units
])
def test_chinese_numbers_dates_money_percent_units_are_spelled_out(text, spoken):
    assert normalize_chinese(text) == spoken


@pytest.mark.parametrize("text, spoken", [
    ("I have 3 apples", "I have three apples"),
    ("It costs $12.50", "It costs twelve dollars and fifty cents"),
    ("Prices rose 12.5% today", "Prices rose twelve point five percent today"),
    ("It weighs 5 kg", "It weighs five kilograms"),
    ("On 2024-03-05 we met", "On March fifth, twenty twenty four we met"),
    ("Meet at 3:30 pm", "Meet at three thirty p m"),
    ("She came 1st", "She came first"),
    ("Born in 1999", "Born in nineteen ninety nine"),
    ("It is 3,250 metres", "It is three thousand two hundred and fifty metres"),
])
def test_english_numbers_dates_money_percent_units_are_spelled_out(text, spoken):
    assert normalize_english(text) == spoken


@pytest.mark.parametrize("word, reading", [
    ("银行", "xa↗ŋ"), ("行走", "ɕi↗ŋ"), ("重要", "ꭧʊ↘ŋ"), ("重新", "ꭧʰʊ↗ŋ"),
])
def test_chinese_polyphones_follow_the_word_they_are_in(word, reading):
    assert reading in chinese_phonemes(word)


def test_third_tone_sandhi_applies_to_nihao():
    assert chinese_phonemes("你好").startswith("ni↗")


def test_both_pinyin_override_syntaxes_replace_the_reading_of_one_character():
    default = phonemize("她好看", "zh")
    assert "xau↓" in default  # 好 hǎo, third tone
    for text in ("她好[h][ào]看", "她好[hao4]看"):
        overridden = phonemize(text, "zh")
        assert "xau↘" in overridden and "xau↓" not in overridden
        assert overridden.startswith("tʰa→") and "kʰa↘n" in overridden  # neighbours untouched


def test_pinyin_override_must_follow_a_chinese_character():
    with pytest.raises(Exception, match="must follow the Chinese character"):
        phonemize("hello [hao4]", "en")


def test_arpabet_override_is_spoken_as_that_word():
    assert arpabet_to_ipa(["M", "AY0", "N", "UW1", "T"]) == "mInˈut"
    assert phonemize("Wait a [M][AY0][N][UW1][T].", "en").split()[-1].startswith("mInˈut")


@pytest.mark.parametrize("text, language, ending", [
    ("I need a [M][AY0][N][UW1][T], please.", "en", "mInˈut, plˈiz."),
    ("Give me a [M][AY0][N][UW1][T]?", "en", "ɐ mInˈut?"),  # a question, not a statement
    ("Give me a [M][AY0][N][UW1][T]!", "en", "ɐ mInˈut!"),
    ("我要一个[M][AY0][N][UW1][T]，好吗？", "zh", "mInˈut, xau↓ ma?"),
    ("Hola, [M][AY0][N][UW1][T], amigo.", "es", "mInˈut, amˈiɣo."),
    ("她好[hao4]！", "zh", "xau↘!"),
    ("她好[h][ào]? 对吧.", "zh", "xau↘? twei↘ pa."),
])
def test_punctuation_after_an_inline_override_keeps_its_pause_and_intonation(text, language, ending):
    assert phonemize(text, language).endswith(ending)


@pytest.mark.parametrize("text, ending", [
    ("你好!", "ni↗xau↓!"),
    ("我们走吗?", "ma?"),
    ("我要一个minute，好吗？", "mˈɪnət, xau↓ ma?"),  # a Chinese comma after an English word
    ("OK，我们走。", "ˌOkˈA, wo↓mən ʦou↓."),
])
def test_chinese_text_keeps_ascii_punctuation_and_commas_after_english_words(text, ending):
    assert phonemize(text, "zh").endswith(ending)


def test_invalid_overrides_are_refused_with_an_example():
    with pytest.raises(InvalidOverride, match=r"\[h\]\[ào\]"):
        pinyin_to_numbered(["xyz"])


def test_english_words_use_the_lexicon_and_unknown_words_still_get_phonemes():
    assert english_phonemes("hello world") == "həlˈO wˈɜɹld"
    assert english_phonemes("Kubernetes")  # not in the lexicon: espeak-ng fallback
    assert english_phonemes("GPU") == "ʤˈi pˈi jˈu"


@pytest.mark.parametrize("sentence, word, reading", [
    ("I read the book yesterday.", "read", "ɹˈɛd"),
    ("I will read the book tomorrow.", "read", "ɹˈid"),
    ("Please record the meeting.", "record", "ɹəkˈɔɹd"),
    ("The record was broken.", "record", "ɹˈɛkəɹd"),
    ("I object to that.", "object", "əbʤˈɛkt"),
    ("The object is heavy.", "object", "ˈɑbʤəkt"),
    ("Close the door.", "Close", "klˈOz"),
    ("The shop is close to home.", "close", "klˈOs"),
])
def test_english_heteronyms_take_the_reading_of_their_part_of_speech(sentence, word, reading):
    words = [w for w in sentence.rstrip(".").split()]
    assert english_phonemes(sentence).rstrip(".").split()[words.index(word)] == reading


def test_mixed_chinese_english_text_is_phonemised_per_script():
    phonemes = phonemize("我们明天开meeting吧", "zh")
    assert "mˈiɾɪŋ" in phonemes  # English (US) reading of the English word
    assert "mi↗ŋtʰjɛ→n" in phonemes  # and Mandarin for the Chinese (明天)


def test_long_text_is_split_at_sentence_boundaries_with_pauses():
    sentences = split_sentences("Hello there. How are you? Fine, thanks!\nNew paragraph 你好。再见！")
    assert [s.text for s in sentences] == ["Hello there.", "How are you?", "Fine, thanks!", "New paragraph 你好。", "再见！"]
    assert sentences[1].pause_after_s > sentences[0].pause_after_s  # a question breathes longer
    assert sentences[2].pause_after_s > sentences[1].pause_after_s  # paragraph break longest


def test_abbreviations_do_not_end_a_sentence():
    assert len(split_sentences("Dr. Smith arrived. He sat down.")) == 2


def test_a_very_long_sentence_is_cut_into_units_the_model_accepts():
    text = ", ".join(["the quick brown fox jumps over the lazy dog"] * 20) + "."
    units = prepare_text(text, "en")
    assert len(units) > 1
    assert all(len(u.phonemes) <= 510 for u in units)


def test_text_over_the_per_job_limit_is_refused_and_at_the_limit_accepted():
    with pytest.raises(TextTooLong, match="10,000"):
        prepare_text("a" * (MAX_CHARACTERS_PER_JOB + 1), "en")
    at_limit = "Hello there. " * 769 + "Hi."
    assert len(at_limit) == MAX_CHARACTERS_PER_JOB
    assert len(prepare_text(at_limit, "en")) == 770  # every sentence is kept


@pytest.mark.parametrize("text, language", [
    ("你好，世界。", "zh"), ("Hello, world.", "en"), ("こんにちは。", "ja"), ("안녕하세요.", "ko"),
    ("你系边个？我唔知。", "yue"), ("Hola, ¿cómo estás? Muy bien, gracias.", "es"),
    ("Bonjour, je suis très content de vous voir.", "fr"), ("नमस्ते", "hi"),
])
def test_auto_language_detection(text, language):
    assert prepare_text(text, "auto")[0].language == language


@pytest.mark.parametrize("text, default, language", [
    ("Buenos días", "es", "es"),  # no telling words: the default (a stock voice's own language)
    ("Good morning. This clip is short.", "es", "en"),  # English words win over the default
    ("Good morning. This clip is short.", "en-gb", "en-gb"),  # English, and the default is British English
    ("Hola, ¿cómo estás? Muy bien.", "fr", "es"),
    ("Good morning", "ja", "en"),  # a default in another script is not forced onto Latin-script text
    ("こんにちは。", "en", "ja"), ("你好，世界。", "ja", "zh"),  # the script decides
])
def test_auto_language_takes_a_default_where_the_text_leaves_it_open(text, default, language):
    assert resolve_language(text, "auto", default) == language
    assert resolve_language(text, "it", default) == "it"  # a named language is never overridden


def test_unsupported_language_is_refused_listing_the_supported_ones():
    with pytest.raises(UnsupportedLanguage) as caught:
        prepare_text("Moien", "lb")
    assert "zh" in caught.value.message and "en" in caught.value.message and "yue" in caught.value.message
    assert set(caught.value.details["supported"]) == {i.code for i in available_languages()}


def test_every_language_is_listed_with_its_engine_and_tier():
    by_code = {i.code: i for i in available_languages()}
    assert {"zh", "en", "ja", "es", "fr", "hi", "it", "pt"} <= {c for c, i in by_code.items() if i.tier == "standard"}
    assert by_code["zh"].engine == "kokoro"
    assert by_code["yue"].tier == "basic" and by_code["ko"].tier == "basic"


def test_the_first_sentence_is_cut_at_its_first_clause_so_audio_starts_sooner():
    units = prepare_text("The weather is lovely today, so let's take a walk in the park. See you.", "en")
    assert units[0].text == "The weather is lovely today,"
    assert units[0].pause_after_s < units[1].pause_after_s  # a comma pause, not a sentence pause
    assert [u.text for u in units[1:]] == ["so let's take a walk in the park.", "See you."]
