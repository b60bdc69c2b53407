/** Every OASIS test-case file (1.4 and 2.1, mandatory and optional) decodes, and re-encodes to the same tree. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ItemType, type TtlvItem } from '../../../../server/ttlv/index.js';
import { CryptographicAlgorithm, Operation } from '../../../../server/kmip/generated/enums.js';
import { Tag } from '../../../../server/kmip/generated/tags.js';
import { decodeXmlMessages, encodeXml, decodeXml } from '../../../../server/kmip/xml/index.js';
import { caseFiles, FIXTURES, FOLDERS } from '../../../conformance/oasis/load.js';

/** The test cases' placeholders ($NOW, $UNIQUE_IDENTIFIER_0, …) are kept as text so the files decode on their own. */
const keepPlaceholders = { placeholder: (value: string, _type: number, tag: number): TtlvItem => ({ tag, type: ItemType.TextString, value }) };

const files = FOLDERS.flatMap((folder) => caseFiles(folder).map((file) => [folder, file] as const));

describe('OASIS test-case files in the XML encoding', () => {
  it('the fixtures hold all 168 files', () => {
    expect(files).toHaveLength(168);
  });

  it.each(files)('%s/%s decodes to alternating requests and responses, and round-trips', (folder, file) => {
    const messages = decodeXmlMessages(readFileSync(join(FIXTURES, folder, file), 'utf8'), keepPlaceholders);
    expect(messages.length).toBeGreaterThan(0);
    expect(messages.length % 2).toBe(0);
    messages.forEach((m, i) => expect(m.tag).toBe(i % 2 === 0 ? Tag.RequestMessage : Tag.ResponseMessage));
    for (const m of messages) expect(decodeXml(encodeXml(m), keepPlaceholders)).toEqual(m);
  });

  it('SKLC-M-1-14 decodes to the request the profile describes', () => {
    const [request] = decodeXmlMessages(readFileSync(join(FIXTURES, '1.4/mandatory/SKLC-M-1-14.xml'), 'utf8'), keepPlaceholders);
    const batch = (request!.value as TtlvItem[]).find((c) => c.tag === Tag.BatchItem)!;
    const [operation, payload] = batch.value as TtlvItem[];
    expect(operation).toEqual({ tag: Tag.Operation, type: ItemType.Enumeration, value: Operation.Create });
    const template = (payload!.value as TtlvItem[]).find((c) => c.tag === Tag.TemplateAttribute)!;
    const values = (template.value as TtlvItem[]).map((a) => (a.value as TtlvItem[])[1]);
    expect(values.slice(0, 3)).toEqual([
      { tag: Tag.AttributeValue, type: ItemType.Enumeration, value: CryptographicAlgorithm.AES },
      { tag: Tag.AttributeValue, type: ItemType.Integer, value: 256 },
      { tag: Tag.AttributeValue, type: ItemType.Integer, value: 0x0c },
    ]);
  });
});
