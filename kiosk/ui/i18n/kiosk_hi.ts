<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="hi_IN" sourcelanguage="en">
<context>
    <name>Browse</name>
    <message>
        <source>Fruit</source>
        <extracomment>the service&apos;s department keys, as the shopper reads them</extracomment>
        <translation>फल</translation>
    </message>
    <message>
        <source>Vegetables</source>
        <translation>सब्ज़ियाँ</translation>
    </message>
    <message>
        <source>Dairy</source>
        <translation>डेयरी</translation>
    </message>
    <message>
        <source>Drinks</source>
        <translation>पेय</translation>
    </message>
    <message>
        <source>Other</source>
        <translation>अन्य</translation>
    </message>
    <message>
        <source>Browse by picture</source>
        <translation>तस्वीर से खोजें</translation>
    </message>
    <message>
        <source>Search by name</source>
        <translation>नाम से खोजें</translation>
    </message>
    <message>
        <source>Back</source>
        <translation>वापस</translation>
    </message>
    <message>
        <source>◀ Previous</source>
        <translation>◀ पिछला</translation>
    </message>
    <message>
        <source>Next ▶</source>
        <translation>अगला ▶</translation>
    </message>
    <message>
        <source>Page {page} of {pages}</source>
        <translation>पृष्ठ {page} / {pages}</translation>
    </message>
</context>
<context>
    <name>Camera</name>
    <message>
        <source>Starting camera…</source>
        <translation>कैमरा शुरू हो रहा है…</translation>
    </message>
    <message>
        <source>No camera</source>
        <translation>कैमरा नहीं है</translation>
    </message>
</context>
<context>
    <name>Cart</name>
    <message>
        <source>Voided by staff: not charged</source>
        <extracomment>role holding the cart line id of a row (any column) role holding the SKU of a row role holding the second line of the item cell: &quot;0.548 kg × ₹60.00/kg&quot;, &quot;2 × ₹99.00&quot; role holding what staff changed on the line, in words (&quot;&quot; when nothing): voided, corrected, re-priced</extracomment>
        <translation>स्टाफ़ ने रद्द किया: पैसे नहीं लगेंगे</translation>
    </message>
    <message>
        <source>Corrected by staff (was {was})</source>
        <translation>स्टाफ़ ने सुधारा (पहले {was})</translation>
    </message>
    <message>
        <source>Price changed by staff (was {was})</source>
        <translation>स्टाफ़ ने दाम बदला (पहले {was})</translation>
    </message>
    <message>
        <source>Item</source>
        <translation>सामान</translation>
    </message>
    <message>
        <source>Qty / weight</source>
        <translation>मात्रा / वज़न</translation>
    </message>
    <message>
        <source>Price</source>
        <translation>दाम</translation>
    </message>
    <message>
        <source>Amount</source>
        <translation>राशि</translation>
    </message>
    <message>
        <source>Remove {name}</source>
        <translation>{name} हटाएँ</translation>
    </message>
    <message>
        <source>GST</source>
        <extracomment>column titles of the GST table (the rate&apos;s gross is the row&apos;s value); translate them where shown</extracomment>
        <translation>GST</translation>
    </message>
    <message>
        <source>Taxable</source>
        <translation>कर योग्य</translation>
    </message>
    <message>
        <source>CGST</source>
        <translation>CGST</translation>
    </message>
    <message>
        <source>SGST</source>
        <translation>SGST</translation>
    </message>
    <message>
        <source>Subtotal, 1 item (GST incl.)</source>
        <translation>उप-योग, 1 सामान (GST सहित)</translation>
    </message>
    <message>
        <source>Subtotal, {n} items (GST incl.)</source>
        <translation>उप-योग, {n} सामान (GST सहित)</translation>
    </message>
    <message>
        <source>GST {rate}</source>
        <translation>GST {rate}</translation>
    </message>
    <message>
        <source>Round off</source>
        <translation>पूर्णांकन</translation>
    </message>
    <message>
        <source>Total</source>
        <translation>कुल</translation>
    </message>
    <message>
        <source>Your cart is empty.
Place an item on the tray to start.</source>
        <translation>आपकी टोकरी खाली है।
शुरू करने के लिए ट्रे पर सामान रखें।</translation>
    </message>
    <message>
        <source>Your items</source>
        <translation>आपका सामान</translation>
    </message>
    <message>
        <source>Your items ({n})</source>
        <translation>आपका सामान ({n})</translation>
    </message>
</context>
<context>
    <name>Header</name>
    <message>
        <source>Aa Normal text</source>
        <translation>Aa सामान्य अक्षर</translation>
    </message>
    <message>
        <source>Aa Larger</source>
        <translation>Aa बड़े अक्षर</translation>
    </message>
    <message>
        <source>Staff called — cancel</source>
        <translation>स्टाफ़ बुलाया — रद्द करें</translation>
    </message>
    <message>
        <source>Help</source>
        <translation>मदद</translation>
    </message>
    <message>
        <source>Staff</source>
        <translation>स्टाफ़</translation>
    </message>
    <message>
        <source>Change the language</source>
        <translation>भाषा बदलें</translation>
    </message>
    <message>
        <source>Normal text size</source>
        <translation>सामान्य अक्षर</translation>
    </message>
    <message>
        <source>Larger text</source>
        <translation>बड़े अक्षर</translation>
    </message>
    <message>
        <source>Calls a member of staff to this kiosk</source>
        <translation>स्टाफ़ के किसी सदस्य को इस कियोस्क पर बुलाता है</translation>
    </message>
    <message>
        <source>For store staff only</source>
        <translation>केवल स्टोर स्टाफ़ के लिए</translation>
    </message>
</context>
<context>
    <name>Keys</name>
    <message>
        <source>Clear</source>
        <extracomment>keys whose label is a word (translated); the key itself stays the same</extracomment>
        <translation>मिटाएँ</translation>
    </message>
    <message>
        <source>Space</source>
        <translation>स्पेस</translation>
    </message>
    <message>
        <source>Delete last character</source>
        <extracomment>keys shown as a glyph: what a screen reader says for them</extracomment>
        <translation>आख़िरी अक्षर मिटाएँ</translation>
    </message>
    <message>
        <source>Decimal point</source>
        <translation>दशमलव बिंदु</translation>
    </message>
</context>
<context>
    <name>Notice</name>
    <message>
        <source>Barcode not read: scan it again</source>
        <extracomment>(pattern of the service&apos;s message, template for the screen — None: shown elsewhere on the page, not as a notice)</extracomment>
        <translation>बारकोड नहीं पढ़ा गया: फिर से स्कैन करें</translation>
    </message>
    <message>
        <source>Barcode {code} is not in the catalog: search by name or PLU</source>
        <translation>बारकोड {code} सूची में नहीं है: नाम या PLU से खोजें</translation>
    </message>
    <message>
        <source>{what}: search by name or PLU</source>
        <translation>{what}: नाम या PLU से खोजें</translation>
    </message>
    <message>
        <source>{name} was not weighed: tap it again to add it</source>
        <translation>{name} तौला नहीं गया: जोड़ने के लिए फिर से छुएँ</translation>
    </message>
    <message>
        <source>{name} was taken away before it was weighed</source>
        <translation>{name} तौलने से पहले हटा लिया गया</translation>
    </message>
    <message>
        <source>{name} was never weighed and is not on the bill</source>
        <translation>{name} तौला नहीं गया और बिल में नहीं है</translation>
    </message>
    <message>
        <source>{name} was not added yet: the kiosk is trying again</source>
        <translation>{name} अभी जोड़ा नहीं गया: कियोस्क फिर से कोशिश कर रहा है</translation>
    </message>
    <message>
        <source>Scale zeroed</source>
        <translation>तराज़ू शून्य पर किया गया</translation>
    </message>
    <message>
        <source>The scale did not zero: take everything off the tray</source>
        <translation>तराज़ू शून्य पर नहीं हुआ: ट्रे से सब कुछ हटाएँ</translation>
    </message>
    <message>
        <source>Tare {container}: {grams} g</source>
        <translation>टेयर {container}: {grams} g</translation>
    </message>
    <message>
        <source>Tare: {grams} g</source>
        <translation>टेयर: {grams} g</translation>
    </message>
    <message>
        <source>Receipt {number} printed: please take it</source>
        <translation>रसीद {number} छप गई: कृपया ले लें</translation>
    </message>
    <message>
        <source>Nothing to pay: your cart is empty</source>
        <translation>भुगतान के लिए कुछ नहीं: आपकी टोकरी खाली है</translation>
    </message>
    <message>
        <source>The bill is ₹0.00: please call staff</source>
        <translation>बिल ₹0.00 का है: कृपया स्टाफ़ को बुलाएँ</translation>
    </message>
    <message>
        <source>The payment was declined: try again or choose another way to pay</source>
        <translation>भुगतान अस्वीकार हो गया: फिर से कोशिश करें या भुगतान का दूसरा तरीका चुनें</translation>
    </message>
    <message>
        <source>The payment terminal did not answer: tap your payment method again — {amount} is never charged twice</source>
        <translation>भुगतान टर्मिनल ने जवाब नहीं दिया: भुगतान का तरीका फिर से दबाएँ — {amount} कभी दो बार नहीं कटेगा</translation>
    </message>
    <message>
        <source>A payment of {amount} is waiting for the terminal, which does not answer: please call staff</source>
        <translation>{amount} का एक भुगतान टर्मिनल की प्रतीक्षा में है, जो जवाब नहीं दे रहा: कृपया स्टाफ़ को बुलाएँ</translation>
    </message>
    <message>
        <source>The terminal has not confirmed the payment of {amount} yet: tap your payment method again to check</source>
        <translation>टर्मिनल ने अभी तक {amount} के भुगतान की पुष्टि नहीं की है: जाँचने के लिए भुगतान का तरीका फिर से दबाएँ</translation>
    </message>
    <message>
        <source>A payment of {amount} is in progress: the cart cannot change until it is settled</source>
        <translation>{amount} का भुगतान चल रहा है: भुगतान पूरा होने तक टोकरी नहीं बदल सकती</translation>
    </message>
    <message>
        <source>A payment is already in progress for this cart</source>
        <translation>इस टोकरी का भुगतान पहले से चल रहा है</translation>
    </message>
    <message>
        <source>The terminal&apos;s answer does not match the payment of {amount}: the sale is not closed and staff has been called</source>
        <translation>टर्मिनल का जवाब {amount} के भुगतान से मेल नहीं खाता: बिक्री बंद नहीं हुई और स्टाफ़ को बुलाया गया है</translation>
    </message>
    <message>
        <source>The payment of {amount} was declined: you can pay again</source>
        <translation>{amount} का भुगतान अस्वीकार हो गया: आप फिर से भुगतान कर सकते हैं</translation>
    </message>
    <message>
        <source>The payment of {amount} never reached the terminal: nothing was charged, you can pay again</source>
        <translation>{amount} का भुगतान टर्मिनल तक नहीं पहुँचा: कुछ नहीं कटा, आप फिर से भुगतान कर सकते हैं</translation>
    </message>
    <message>
        <source>Nothing to pay: this sale is already closed</source>
        <translation>भुगतान के लिए कुछ नहीं: यह बिक्री पहले ही बंद हो चुकी है</translation>
    </message>
    <message>
        <source>Finish or cancel the payment first: the scan was not added</source>
        <translation>पहले भुगतान पूरा करें या रद्द करें: स्कैन किया गया सामान नहीं जोड़ा गया</translation>
    </message>
    <message>
        <source>Finish or cancel the payment first: your bill cannot change while you pay</source>
        <translation>पहले भुगतान पूरा करें या रद्द करें: भुगतान के दौरान आपका बिल नहीं बदल सकता</translation>
    </message>
    <message>
        <source>Your bill is now {now}, not the {shown} shown: check it and pay again</source>
        <translation>आपका बिल अब {now} है, दिखाया गया {shown} नहीं: इसे जाँचें और फिर से भुगतान करें</translation>
    </message>
    <message>
        <source>The amount to pay could not be checked: please call staff</source>
        <translation>भुगतान की राशि जाँची नहीं जा सकी: कृपया स्टाफ़ को बुलाएँ</translation>
    </message>
    <message>
        <source>Staff must check {name} first</source>
        <translation>पहले स्टाफ़ को {name} जाँचना होगा</translation>
    </message>
    <message>
        <source>Staff must first approve removing {name}</source>
        <translation>{name} हटाने के लिए पहले स्टाफ़ की मंज़ूरी चाहिए</translation>
    </message>
    <message>
        <source>Staff is already asked to remove {name}: please wait</source>
        <translation>{name} हटाने के लिए स्टाफ़ को बुलाया जा चुका है: कृपया प्रतीक्षा करें</translation>
    </message>
    <message>
        <source>{name} not added by staff</source>
        <translation>स्टाफ़ ने {name} नहीं जोड़ा</translation>
    </message>
    <message>
        <source>{name} added by staff</source>
        <translation>स्टाफ़ ने {name} जोड़ा</translation>
    </message>
    <message>
        <source>Staff corrected {old} to {new}</source>
        <translation>स्टाफ़ ने {old} को {new} में सुधारा</translation>
    </message>
    <message>
        <source>Labelled {name}: it goes to head office as a staff label</source>
        <translation>{name} के रूप में लेबल किया गया: यह स्टाफ़ लेबल के रूप में मुख्य कार्यालय जाएगा</translation>
    </message>
    <message>
        <source>Marked not a product: kept out of training</source>
        <translation>उत्पाद नहीं के रूप में चिह्नित: प्रशिक्षण से बाहर रखा गया</translation>
    </message>
    <message>
        <source>This item cannot be labelled any more: labelled already, on a bill, or its photo is gone</source>
        <translation>इस सामान पर अब लेबल नहीं लग सकता: लेबल पहले से लगा है, बिल में है, या इसकी फ़ोटो नहीं रही</translation>
    </message>
    <message>
        <source>{name}: price changed from {old} to {new}</source>
        <translation>{name}: दाम {old} से {new} किया गया</translation>
    </message>
    <message>
        <source>{name} taken off the bill by staff</source>
        <translation>स्टाफ़ ने {name} बिल से हटाया</translation>
    </message>
    <message>
        <source>New recognition model v{version} active</source>
        <translation>नया पहचान मॉडल v{version} चालू</translation>
    </message>
    <message>
        <source>Receipt {number} not printed: the printer is not connected. Staff can reprint it</source>
        <translation>रसीद {number} नहीं छपी: प्रिंटर जुड़ा नहीं है। स्टाफ़ इसे फिर से छाप सकते हैं</translation>
    </message>
    <message>
        <source>Receipt {number} not printed: the printer does not answer. Staff can reprint it</source>
        <translation>रसीद {number} नहीं छपी: प्रिंटर जवाब नहीं दे रहा है। स्टाफ़ इसे फिर से छाप सकते हैं</translation>
    </message>
    <message>
        <source>Receipt {number} not printed: the printer is out of paper. Staff can reprint it</source>
        <translation>रसीद {number} नहीं छपी: प्रिंटर में कागज़ खत्म हो गया है। स्टाफ़ इसे फिर से छाप सकते हैं</translation>
    </message>
    <message>
        <source>Receipt {number} not printed: the printer&apos;s cover is open. Staff can reprint it</source>
        <translation>रसीद {number} नहीं छपी: प्रिंटर का ढक्कन खुला है। स्टाफ़ इसे फिर से छाप सकते हैं</translation>
    </message>
    <message>
        <source>Receipt {number} not printed: the printer is offline. Staff can reprint it</source>
        <translation>रसीद {number} नहीं छपी: प्रिंटर ऑफ़लाइन है। स्टाफ़ इसे फिर से छाप सकते हैं</translation>
    </message>
    <message>
        <source>Receipt {number} not printed: the printer reports a fault. Staff can reprint it</source>
        <translation>रसीद {number} नहीं छपी: प्रिंटर में खराबी है। स्टाफ़ इसे फिर से छाप सकते हैं</translation>
    </message>
    <message>
        <source>Receipt {number} not printed: the printer is not working. Staff can reprint it</source>
        <translation>रसीद {number} नहीं छपी: प्रिंटर काम नहीं कर रहा है। स्टाफ़ इसे फिर से छाप सकते हैं</translation>
    </message>
    <message>
        <source>The receipt printer did not print: call staff</source>
        <translation>रसीद प्रिंटर ने नहीं छापा: स्टाफ़ को बुलाएँ</translation>
    </message>
    <message>
        <source>This kiosk has no receipt printer</source>
        <translation>इस कियोस्क में रसीद प्रिंटर नहीं है</translation>
    </message>
    <message>
        <source>Zero: take everything off the tray first</source>
        <translation>शून्य: पहले ट्रे से सब कुछ हटा दें</translation>
    </message>
    <message>
        <source>Zero: the scale must be still and within {grams} g of zero</source>
        <translation>शून्य: तराज़ू स्थिर हो और शून्य से {grams} g के भीतर हो</translation>
    </message>
    <message>
        <source>The camera works again</source>
        <translation>कैमरा फिर से काम कर रहा है</translation>
    </message>
    <message>
        <source>The camera is not working: please call staff</source>
        <translation>कैमरा काम नहीं कर रहा: कृपया स्टाफ़ को बुलाएँ</translation>
    </message>
    <message>
        <source>The camera did not see what is on the scale ({grams} g): please call staff</source>
        <translation>कैमरा तराज़ू पर रखा सामान ({grams} g) नहीं देख पाया: कृपया स्टाफ़ को बुलाएँ</translation>
    </message>
    <message>
        <source>The scale holds {grams} g the camera did not see: please call staff before paying</source>
        <translation>तराज़ू पर {grams} g है जो कैमरे ने नहीं देखा: भुगतान से पहले कृपया स्टाफ़ को बुलाएँ</translation>
    </message>
    <message>
        <source>The camera sees the tray again</source>
        <translation>कैमरा ट्रे को फिर से देख रहा है</translation>
    </message>
    <message>
        <source>The camera&apos;s picture is not changing: please call staff</source>
        <translation>कैमरे की तस्वीर नहीं बदल रही: कृपया स्टाफ़ को बुलाएँ</translation>
    </message>
    <message>
        <source>The camera sees nothing: is it covered? Please call staff</source>
        <translation>कैमरा कुछ नहीं देख पा रहा: क्या वह ढका है? कृपया स्टाफ़ को बुलाएँ</translation>
    </message>
    <message>
        <source>The item was not recognised: search by name or PLU</source>
        <translation>आइटम पहचाना नहीं गया: नाम या PLU से खोजें</translation>
    </message>
    <message>
        <source>The barcode was not read: scan it again</source>
        <translation>बारकोड नहीं पढ़ा गया: फिर से स्कैन करें</translation>
    </message>
    <message>
        <source>Taught products are not suggested by model v{version}: it has no gallery fusion; teach them again under a newer model or roll forward</source>
        <translation>मॉडल v{version} सिखाए गए उत्पाद नहीं सुझाता: उसमें गैलरी फ़्यूज़न नहीं है; उन्हें नए मॉडल पर फिर से सिखाएँ या नया मॉडल वापस लाएँ</translation>
    </message>
    <message>
        <source>{name}: {net} g net ({gross} g less {tare} g tare) is under the scale&apos;s minimum of {least} g: weigh it again</source>
        <translation>{name}: शुद्ध वज़न {net} g ({gross} g में से {tare} g टेयर घटाकर) तराज़ू के न्यूनतम {least} g से कम है: फिर से तौलें</translation>
    </message>
    <message>
        <source>A price is at most {most}</source>
        <translation>दाम अधिक से अधिक {most} हो सकता है</translation>
    </message>
    <message>
        <source>Model v{version} is active but does not run yet: it runs from the next start</source>
        <translation>मॉडल v{version} सक्रिय है पर अभी नहीं चल रहा: यह अगली बार शुरू होने पर चलेगा</translation>
    </message>
    <message>
        <source>This staff account was changed outside the kiosk and cannot sign in: ask the store manager</source>
        <translation>यह स्टाफ़ खाता कियोस्क के बाहर बदला गया है, इससे साइन इन नहीं हो सकता: स्टोर मैनेजर से पूछें</translation>
    </message>
    <message>
        <source>Staff mode is locked: your staff account was changed outside the kiosk: ask the store manager</source>
        <translation>स्टाफ़ मोड बंद है: आपका स्टाफ़ खाता कियोस्क के बाहर बदला गया है: स्टोर मैनेजर से पूछें</translation>
    </message>
    <message>
        <source>Staff mode is locked: staff accounts are in use now: sign in with your staff number and PIN</source>
        <translation>स्टाफ़ मोड बंद है: अब स्टाफ़ खाते चालू हैं: अपने स्टाफ़ नंबर और PIN से साइन इन करें</translation>
    </message>
    <message>
        <source>A correction lowering the bill by more than {most} needs a supervisor&apos;s approval</source>
        <translation>बिल को {most} से ज़्यादा घटाने वाले सुधार के लिए सुपरवाइज़र की मंज़ूरी चाहिए</translation>
    </message>
    <message>
        <source>Voiding a line worth more than {most} needs a supervisor&apos;s approval</source>
        <translation>{most} से ज़्यादा की पंक्ति रद्द करने के लिए सुपरवाइज़र की मंज़ूरी चाहिए</translation>
    </message>
    <message>
        <source>This needs a supervisor, and the shared staff PIN has none: ask the store manager to add staff accounts</source>
        <translation>इसके लिए सुपरवाइज़र चाहिए, और साझा स्टाफ़ PIN में कोई सुपरवाइज़र नहीं है: स्टोर मैनेजर से स्टाफ़ खाते बनवाएँ</translation>
    </message>
    <message>
        <source>The barcode scanner is sending codes too fast: scanning is paused, please call staff</source>
        <translation>बारकोड स्कैनर बहुत तेज़ी से कोड भेज रहा है: स्कैन करना रोका गया है, कृपया स्टाफ़ को बुलाएँ</translation>
    </message>
    <message>
        <source>The barcode scanner works again</source>
        <translation>बारकोड स्कैनर फिर से काम कर रहा है</translation>
    </message>
    <message>
        <source>The barcode scanner is not connected: please call staff</source>
        <translation>बारकोड स्कैनर जुड़ा नहीं है: कृपया स्टाफ़ को बुलाएँ</translation>
    </message>
    <message>
        <source>The scale could not be read: if this goes on, call staff</source>
        <translation>तराज़ू पढ़ा नहीं जा सका: ऐसा होता रहे तो स्टाफ़ को बुलाएँ</translation>
    </message>
    <message>
        <source>Staff mode is locked: your staff account is gone: ask the store manager</source>
        <translation>स्टाफ़ मोड बंद है: आपका स्टाफ़ खाता अब नहीं है: स्टोर मैनेजर से पूछें</translation>
    </message>
    <message>
        <source>Staff mode is locked: your staff account was disabled: ask the store manager</source>
        <translation>स्टाफ़ मोड बंद है: आपका स्टाफ़ खाता बंद कर दिया गया है: स्टोर मैनेजर से पूछें</translation>
    </message>
    <message>
        <source>Staff mode is locked: your role was changed: sign in again</source>
        <translation>स्टाफ़ मोड बंद है: आपकी भूमिका बदल दी गई है: फिर से साइन इन करें</translation>
    </message>
    <message>
        <source>Staff mode is locked: your staff PIN was changed: sign in with the new PIN</source>
        <translation>स्टाफ़ मोड बंद है: आपका स्टाफ़ PIN बदल दिया गया है: नए PIN से साइन इन करें</translation>
    </message>
    <message>
        <source>Staff mode is locked: your staff account changed: sign in again</source>
        <translation>स्टाफ़ मोड बंद है: आपका स्टाफ़ खाता बदल गया है: फिर से साइन इन करें</translation>
    </message>
    <message>
        <source>That line is no longer on the bill</source>
        <translation>वह लाइन अब बिल में नहीं है</translation>
    </message>
    <message>
        <source>That line was taken off the bill</source>
        <translation>वह लाइन बिल से हटा दी गई है</translation>
    </message>
    <message>
        <source>That department is not offered</source>
        <translation>यह विभाग उपलब्ध नहीं है</translation>
    </message>
    <message>
        <source>This product is not in the catalog</source>
        <translation>यह उत्पाद कैटलॉग में नहीं है</translation>
    </message>
    <message>
        <source>{name} is not on sale</source>
        <translation>{name} बिक्री के लिए उपलब्ध नहीं है</translation>
    </message>
    <message>
        <source>This language is not offered here</source>
        <translation>यह भाषा यहाँ उपलब्ध नहीं है</translation>
    </message>
    <message>
        <source>No removal is waiting for staff approval</source>
        <translation>कोई आइटम हटाना स्टाफ़ की मंज़ूरी का इंतज़ार नहीं कर रहा</translation>
    </message>
    <message>
        <source>No item is waiting for staff</source>
        <translation>कोई आइटम स्टाफ़ का इंतज़ार नहीं कर रहा</translation>
    </message>
    <message>
        <source>{name} is sold by weight: put it on the scale, then correct again</source>
        <translation>{name} वज़न से बिकता है: उसे तराज़ू पर रखें, फिर दोबारा सुधारें</translation>
    </message>
    <message>
        <source>A price must be zero or more</source>
        <translation>कीमत शून्य या उससे अधिक होनी चाहिए</translation>
    </message>
    <message>
        <source>Receipt {number}: duplicate {copy} made</source>
        <translation>रसीद {number}: प्रतिलिपि {copy} बनाई गई</translation>
    </message>
    <message>
        <source>Approved by {name}: go ahead</source>
        <translation>{name} ने मंज़ूरी दी: आगे बढ़ें</translation>
    </message>
    <message>
        <source>There is no earlier model to roll back to</source>
        <translation>वापस जाने के लिए कोई पिछला मॉडल नहीं है</translation>
    </message>
    <message>
        <source>The model was not rolled back: see the kiosk&apos;s log</source>
        <translation>मॉडल वापस नहीं किया गया: कियोस्क का लॉग देखें</translation>
    </message>
    <message>
        <source>Model rolled back from v{old} to v{new}</source>
        <translation>मॉडल v{old} से v{new} पर वापस किया गया</translation>
    </message>
    <message>
        <source>No model update channel is set up at this kiosk</source>
        <translation>इस कियोस्क पर मॉडल अपडेट का कोई चैनल सेट नहीं है</translation>
    </message>
    <message>
        <source>{sku}: no longer suggested from photos</source>
        <translation>{sku}: अब फ़ोटो से सुझाया नहीं जाएगा</translation>
    </message>
    <message>
        <source>Wrong staff PIN</source>
        <translation>स्टाफ़ PIN गलत है</translation>
    </message>
    <message>
        <source>Wrong staff number or PIN</source>
        <translation>स्टाफ़ नंबर या PIN गलत है</translation>
    </message>
    <message>
        <source>Too many wrong PINs: try again in {seconds} s</source>
        <translation>बहुत बार गलत PIN: {seconds} सेकंड बाद फिर कोशिश करें</translation>
    </message>
    <message>
        <source>Too many wrong PINs at this kiosk: try again in {seconds} s</source>
        <translation>इस कियोस्क पर बहुत बार गलत PIN: {seconds} सेकंड बाद फिर कोशिश करें</translation>
    </message>
    <message>
        <source>An approval needs a supervisor&apos;s staff number and PIN</source>
        <translation>मंज़ूरी के लिए सुपरवाइज़र का स्टाफ़ नंबर और PIN चाहिए</translation>
    </message>
    <message>
        <source>No staff PIN is set up at this kiosk: ask the store manager</source>
        <translation>इस कियोस्क पर कोई स्टाफ़ PIN सेट नहीं है: स्टोर मैनेजर से पूछें</translation>
    </message>
    <message>
        <source>Staff mode is locked: unlock it with the staff PIN first</source>
        <translation>स्टाफ़ मोड बंद है: पहले स्टाफ़ PIN से खोलें</translation>
    </message>
    <message>
        <source>{grams} g on the tray fits {count} × {name} ({low}-{high} g each), not {qty}</source>
        <translation>ट्रे पर {grams} g: यह {count} × {name} ({low}-{high} g हर एक) के बराबर है, {qty} नहीं</translation>
    </message>
    <message>
        <source>{grams} g on the tray does not fit {name} ({low}-{high} g each)</source>
        <translation>ट्रे पर {grams} g {name} ({low}-{high} g हर एक) से मेल नहीं खाता</translation>
    </message>
    <message>
        <source>The label says {label} g, the tray weighs {grams} g</source>
        <translation>लेबल पर {label} g लिखा है, ट्रे पर वज़न {grams} g है</translation>
    </message>
    <message>
        <source>A price change of more than {most} needs a supervisor&apos;s approval</source>
        <translation>{most} से ज़्यादा दाम बदलने के लिए सुपरवाइज़र की मंज़ूरी चाहिए</translation>
    </message>
    <message>
        <source>Taking off a line worth more than {most} needs a supervisor&apos;s approval</source>
        <translation>{most} से ज़्यादा की पंक्ति हटाने के लिए सुपरवाइज़र की मंज़ूरी चाहिए</translation>
    </message>
    <message>
        <source>Rolling the recognition model back needs a supervisor&apos;s approval</source>
        <translation>पहचान मॉडल को पिछले संस्करण पर लौटाने के लिए सुपरवाइज़र की मंज़ूरी चाहिए</translation>
    </message>
    <message>
        <source>This staff role may do nothing at the till: a supervisor must approve</source>
        <translation>यह स्टाफ़ भूमिका काउंटर पर कुछ नहीं कर सकती: सुपरवाइज़र की मंज़ूरी चाहिए</translation>
    </message>
    <message>
        <source>This needs a supervisor&apos;s approval</source>
        <translation>इसके लिए सुपरवाइज़र की मंज़ूरी चाहिए</translation>
    </message>
</context>
<context>
    <name>Payment</name>
    <message>
        <source>Card</source>
        <translation>कार्ड</translation>
    </message>
    <message>
        <source>UPI</source>
        <translation>UPI</translation>
    </message>
    <message>
        <source>Cash at desk</source>
        <translation>काउंटर पर नकद</translation>
    </message>
    <message>
        <source>Pay</source>
        <translation>भुगतान करें</translation>
    </message>
    <message>
        <source>Back to cart</source>
        <translation>टोकरी पर वापस</translation>
    </message>
    <message>
        <source>Checking the payment of {amount} with the terminal… please wait: you are never charged twice</source>
        <translation>{amount} के भुगतान की टर्मिनल से जाँच हो रही है… कृपया प्रतीक्षा करें: पैसा कभी दो बार नहीं कटेगा</translation>
    </message>
    <message>
        <source>{method}: follow the terminal… processing payment</source>
        <translation>{method}: टर्मिनल के निर्देश देखें… भुगतान हो रहा है</translation>
    </message>
    <message>
        <source>Payment not completed: {reason}</source>
        <translation>भुगतान पूरा नहीं हुआ: {reason}</translation>
    </message>
    <message>
        <source>Choose how you pay</source>
        <translation>भुगतान का तरीका चुनें</translation>
    </message>
</context>
<context>
    <name>Receipt</name>
    <message>
        <source>Prices include GST. CGST = SGST = half the GST.</source>
        <translation>दामों में GST शामिल है। CGST = SGST = GST का आधा।</translation>
    </message>
    <message>
        <source>Phone {phone}</source>
        <translation>फ़ोन {phone}</translation>
    </message>
    <message>
        <source>TAX INVOICE</source>
        <translation>कर बीजक (TAX INVOICE)</translation>
    </message>
    <message>
        <source>RECEIPT</source>
        <translation>रसीद</translation>
    </message>
    <message>
        <source>Receipt {number} · {when}</source>
        <translation>रसीद {number} · {when}</translation>
    </message>
    <message>
        <source>Corrected by staff (was {was})</source>
        <translation>स्टाफ़ ने सुधारा (पहले {was})</translation>
    </message>
    <message>
        <source>Price changed by staff (was {was})</source>
        <translation>स्टाफ़ ने दाम बदला (पहले {was})</translation>
    </message>
    <message>
        <source>Items: {n}</source>
        <translation>सामान: {n}</translation>
    </message>
    <message>
        <source>Gross (incl. GST)</source>
        <translation>कुल राशि (GST सहित)</translation>
    </message>
    <message>
        <source>Round off</source>
        <translation>पूर्णांकन</translation>
    </message>
    <message>
        <source>TOTAL</source>
        <translation>कुल देय</translation>
    </message>
    <message>
        <source>Paid by</source>
        <translation>भुगतान</translation>
    </message>
    <message>
        <source>Voided by staff: {n} (not charged)</source>
        <translation>स्टाफ़ ने रद्द किया: {n} (पैसे नहीं लगे)</translation>
    </message>
    <message>
        <source>Corrected by staff: {n}</source>
        <translation>स्टाफ़ ने सुधारा: {n}</translation>
    </message>
    <message>
        <source>Re-priced by staff: {n}</source>
        <translation>स्टाफ़ ने दाम बदला: {n}</translation>
    </message>
    <message>
        <source>Taxable</source>
        <translation>कर योग्य</translation>
    </message>
    <message>
        <source>Total</source>
        <translation>कुल</translation>
    </message>
    <message>
        <source>All</source>
        <translation>सभी</translation>
    </message>
    <message>
        <source>Printing…</source>
        <translation>छप रही है…</translation>
    </message>
    <message>
        <source>Printed.</source>
        <translation>छप गया।</translation>
    </message>
    <message>
        <source>Printed: please take your receipt.</source>
        <translation>छप गई: कृपया अपनी रसीद ले लें।</translation>
    </message>
    <message>
        <source>Duplicate receipt</source>
        <translation>रसीद की प्रति</translation>
    </message>
    <message>
        <source>Reprinted for staff: a copy, not a new sale.</source>
        <translation>स्टाफ़ के लिए दोबारा छापी गई: यह प्रति है, नई बिक्री नहीं।</translation>
    </message>
    <message>
        <source>End of day</source>
        <translation>दिन का हिसाब</translation>
    </message>
    <message>
        <source>Today&apos;s takings, for staff: not a sale.</source>
        <translation>आज की बिक्री का हिसाब, स्टाफ़ के लिए: यह बिक्री नहीं है।</translation>
    </message>
    <message>
        <source>Thank you!</source>
        <translation>धन्यवाद!</translation>
    </message>
    <message>
        <source>Print again</source>
        <translation>फिर से छापें</translation>
    </message>
    <message>
        <source>Print receipt</source>
        <translation>रसीद छापें</translation>
    </message>
    <message>
        <source>Back</source>
        <translation>वापस</translation>
    </message>
    <message>
        <source>Start a new order</source>
        <translation>नया ऑर्डर शुरू करें</translation>
    </message>
    <message>
        <source>Start a new order ({seconds} s)</source>
        <translation>नया ऑर्डर शुरू करें ({seconds} से.)</translation>
    </message>
    <message>
        <source>{amount} paid by {method}.</source>
        <translation>{amount} का भुगतान {method} से हुआ।</translation>
    </message>
    <message>
        <source>Paid.</source>
        <translation>भुगतान हो गया।</translation>
    </message>
    <message>
        <source>Receipt {number}.</source>
        <translation>रसीद {number}।</translation>
    </message>
    <message>
        <source>Please take your items.</source>
        <translation>कृपया अपना सामान ले लें।</translation>
    </message>
</context>
<context>
    <name>Receipts</name>
    <message>
        <source>Today&apos;s receipts — tap one to print it again</source>
        <translation>आज की रसीदें — दोबारा छापने के लिए एक छुएँ</translation>
    </message>
    <message>
        <source>Back</source>
        <translation>वापस</translation>
    </message>
    <message>
        <source>No sale yet today.</source>
        <translation>आज अभी तक कोई बिक्री नहीं।</translation>
    </message>
    <message>
        <source>{n} item(s)</source>
        <translation>{n} सामान</translation>
    </message>
</context>
<context>
    <name>Search</name>
    <message>
        <source>What the camera saw</source>
        <translation>कैमरे ने क्या देखा</translation>
    </message>
    <message>
        <source>No photo:
added by search or scan</source>
        <translation>तस्वीर नहीं:
खोज या स्कैन से जोड़ा गया</translation>
    </message>
    <message>
        <source>Tap a line to see
what the camera saw</source>
        <translation>कैमरे ने क्या देखा,
यह देखने के लिए पंक्ति चुनें</translation>
    </message>
    <message>
        <source>Back</source>
        <translation>वापस</translation>
    </message>
    <message>
        <source>Browse by picture</source>
        <translation>तस्वीर से खोजें</translation>
    </message>
    <message>
        <source>Name or PLU, e.g. banana or 101</source>
        <translation>नाम या PLU, जैसे banana या 101</translation>
    </message>
    <message>
        <source>Search by name or PLU</source>
        <translation>नाम या PLU से खोजें</translation>
    </message>
    <message>
        <source>Results</source>
        <translation>नतीजे</translation>
    </message>
    <message>
        <source>{n} found — tap yours</source>
        <translation>{n} मिले — अपना सामान छुएँ</translation>
    </message>
    <message>
        <source>Nothing found for “{text}”</source>
        <translation>“{text}” के लिए कुछ नहीं मिला</translation>
    </message>
    <message>
        <source>Results appear here as you type.</source>
        <translation>टाइप करते ही नतीजे यहाँ दिखेंगे।</translation>
    </message>
</context>
<context>
    <name>Staff</name>
    <message>
        <source>Staff PIN</source>
        <extracomment>a staff PIN is 4-12 digits (kiosk.config.hash_pin, kiosk.staff.accounts): the field takes no more, nothing else</extracomment>
        <translation>स्टाफ़ PIN</translation>
    </message>
    <message>
        <source>Enter PIN</source>
        <translation>PIN डालें</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>रद्द करें</translation>
    </message>
    <message>
        <source>Unlock</source>
        <translation>खोलें</translation>
    </message>
    <message>
        <source>Type the PIN first</source>
        <translation>पहले PIN लिखें</translation>
    </message>
    <message>
        <source>₹ e.g. 45.50</source>
        <translation>₹ जैसे 45.50</translation>
    </message>
    <message>
        <source>Set price</source>
        <translation>दाम तय करें</translation>
    </message>
    <message>
        <source>New price for {name} (now {price})</source>
        <translation>{name} का नया दाम (अभी {price})</translation>
    </message>
    <message>
        <source>New price</source>
        <translation>नया दाम</translation>
    </message>
    <message>
        <source>Not a price: type rupees, e.g. 45.50</source>
        <translation>यह दाम नहीं है: रुपये लिखें, जैसे 45.50</translation>
    </message>
    <message>
        <source>A price cannot be negative</source>
        <translation>दाम ऋणात्मक नहीं हो सकता</translation>
    </message>
    <message>
        <source>A price is at most {most}</source>
        <translation>दाम अधिक से अधिक {most} हो सकता है</translation>
    </message>
    <message>
        <source>Approve removal</source>
        <translation>हटाने की मंज़ूरी दें</translation>
    </message>
    <message>
        <source>Keep on bill</source>
        <translation>बिल में रखें</translation>
    </message>
    <message>
        <source>The shopper asks to remove {name} ({amount})</source>
        <translation>ग्राहक {name} ({amount}) हटाना चाहते हैं</translation>
    </message>
    <message>
        <source>Staff mode — select a line</source>
        <translation>स्टाफ़ मोड — एक पंक्ति चुनें</translation>
    </message>
    <message>
        <source>Lines on the bill</source>
        <translation>बिल की पंक्तियाँ</translation>
    </message>
    <message>
        <source>Done (lock)</source>
        <translation>पूरा (बंद करें)</translation>
    </message>
    <message>
        <source>Reprint</source>
        <translation>दोबारा छापें</translation>
    </message>
    <message>
        <source>Print the last receipt again, marked as a duplicate</source>
        <translation>पिछली रसीद दोबारा छापें, प्रति के रूप में</translation>
    </message>
    <message>
        <source>End of day</source>
        <translation>दिन का हिसाब</translation>
    </message>
    <message>
        <source>Supervisors: today&apos;s takings (sales, payments, GST)</source>
        <translation>सुपरवाइज़र: आज की बिक्री का हिसाब (बिक्री, भुगतान, GST)</translation>
    </message>
    <message>
        <source>Correct item…</source>
        <translation>सामान सुधारें…</translation>
    </message>
    <message>
        <source>Void line</source>
        <translation>पंक्ति रद्द करें</translation>
    </message>
    <message>
        <source>Override price…</source>
        <translation>दाम बदलें…</translation>
    </message>
    <message>
        <source>The cart is empty.</source>
        <translation>टोकरी खाली है।</translation>
    </message>
    <message>
        <source>Tap a line, then choose what to do.</source>
        <translation>एक पंक्ति छुएँ, फिर चुनें कि क्या करना है।</translation>
    </message>
    <message>
        <source>Selected: {name}</source>
        <translation>चुना गया: {name}</translation>
    </message>
    <message>
        <source>Add it</source>
        <translation>जोड़ें</translation>
    </message>
    <message>
        <source>Do not add</source>
        <translation>न जोड़ें</translation>
    </message>
    <message>
        <source>Check the item on the tray</source>
        <translation>ट्रे पर रखा सामान जाँचें</translation>
    </message>
    <message>
        <source>Please wait: staff is on the way</source>
        <translation>कृपया प्रतीक्षा करें: स्टाफ़ आ रहा है</translation>
    </message>
    <message>
        <source>Roll back model</source>
        <translation>पिछला मॉडल चलाएँ</translation>
    </message>
    <message>
        <source>Supervisors: run the previous signed model again</source>
        <translation>सुपरवाइज़र: पिछला हस्ताक्षरित मॉडल फिर से चलाएँ</translation>
    </message>
    <message>
        <source>Not approved: a supervisor&apos;s staff number and PIN, please</source>
        <translation>मंज़ूरी नहीं मिली: कृपया सुपरवाइज़र का स्टाफ़ नंबर और PIN डालें</translation>
    </message>
    <message>
        <source>Staff number</source>
        <translation>स्टाफ़ नंबर</translation>
    </message>
    <message>
        <source>Supervisor approval: your staff number and PIN</source>
        <translation>सुपरवाइज़र की मंज़ूरी: अपना स्टाफ़ नंबर और PIN डालें</translation>
    </message>
    <message>
        <source>Approve</source>
        <translation>मंज़ूर करें</translation>
    </message>
    <message>
        <source>Staff sign-in</source>
        <translation>स्टाफ़ साइन-इन</translation>
    </message>
    <message>
        <source>Sign in</source>
        <translation>साइन इन करें</translation>
    </message>
    <message>
        <source>Type your staff number first</source>
        <translation>पहले अपना स्टाफ़ नंबर लिखें</translation>
    </message>
    <message>
        <source>supervisor</source>
        <translation>सुपरवाइज़र</translation>
    </message>
    <message>
        <source>assistant</source>
        <translation>सहायक</translation>
    </message>
    <message>
        <source>{name} ({role}) · signs out after {minutes} min idle</source>
        <translation>{name} ({role}) · {minutes} मिनट कुछ न करने पर साइन आउट</translation>
    </message>
    <message>
        <source>Payment of {amount} not settled since {time}: the kiosk asks the terminal again by itself</source>
        <translation>{amount} का भुगतान {time} से तय नहीं हुआ: कियोस्क टर्मिनल से खुद फिर पूछ रहा है</translation>
    </message>
    <message>
        <source>no answer</source>
        <translation>कोई जवाब नहीं</translation>
    </message>
    <message>
        <source>about another payment (staff called)</source>
        <translation>किसी दूसरे भुगतान के बारे में (स्टाफ़ को बुलाया गया)</translation>
    </message>
    <message>
        <source>not received by the terminal so far</source>
        <translation>टर्मिनल को अब तक नहीं मिला</translation>
    </message>
    <message>
        <source>Times asked: {count} · last answer: {answer}</source>
        <translation>कितनी बार पूछा: {count} · आख़िरी जवाब: {answer}</translation>
    </message>
    <message>
        <source>Outcome unknown: the terminal is asked again shortly</source>
        <translation>नतीजा पता नहीं: टर्मिनल से जल्द ही फिर पूछा जाएगा</translation>
    </message>
    <message>
        <source>{count} more waiting</source>
        <translation>{count} और प्रतीक्षा में</translation>
    </message>
</context>
<context>
    <name>Status</name>
    <message>
        <source>Camera: starting…</source>
        <translation>कैमरा: शुरू हो रहा है…</translation>
    </message>
    <message>
        <source>Camera: live</source>
        <translation>कैमरा: चालू</translation>
    </message>
    <message>
        <source>Camera lost</source>
        <translation>कैमरा बंद हो गया</translation>
    </message>
    <message>
        <source>Camera lost — reconnecting</source>
        <translation>कैमरा बंद — फिर से जोड़ रहे हैं</translation>
    </message>
    <message>
        <source>Camera: replay ended</source>
        <translation>कैमरा: रीप्ले खत्म</translation>
    </message>
    <message>
        <source>Camera failed</source>
        <translation>कैमरा काम नहीं कर रहा</translation>
    </message>
    <message>
        <source>Printer: paper low</source>
        <extracomment>the receipt printer&apos;s warning or reason not to print (kiosk.printing) → the status bar&apos;s words</extracomment>
        <translation>प्रिंटर: कागज़ कम है</translation>
    </message>
    <message>
        <source>Printer: out of paper</source>
        <translation>प्रिंटर: कागज़ खत्म</translation>
    </message>
    <message>
        <source>Printer: cover open</source>
        <translation>प्रिंटर: ढक्कन खुला है</translation>
    </message>
    <message>
        <source>Printer: offline</source>
        <translation>प्रिंटर: ऑफ़लाइन</translation>
    </message>
    <message>
        <source>Printer: reports a fault</source>
        <translation>प्रिंटर: खराबी है</translation>
    </message>
    <message>
        <source>Printer: not connected</source>
        <translation>प्रिंटर: जुड़ा नहीं है</translation>
    </message>
    <message>
        <source>Printer: does not answer</source>
        <translation>प्रिंटर: जवाब नहीं दे रहा</translation>
    </message>
    <message>
        <source>Printer: not working</source>
        <translation>प्रिंटर: काम नहीं कर रहा</translation>
    </message>
    <message>
        <source>Printer: {reason}</source>
        <translation>प्रिंटर: {reason}</translation>
    </message>
    <message>
        <source>Camera: {state}</source>
        <translation>कैमरा: {state}</translation>
    </message>
    <message>
        <source>Camera lost — reconnecting in {seconds} s</source>
        <translation>कैमरा बंद — {seconds} सेकंड में फिर जोड़ेंगे</translation>
    </message>
    <message>
        <source>Scale: —</source>
        <translation>तराज़ू: —</translation>
    </message>
    <message>
        <source>Model: —</source>
        <translation>मॉडल: —</translation>
    </message>
    <message>
        <source>Model {version}</source>
        <translation>मॉडल {version}</translation>
    </message>
    <message>
        <source>Scale: {weight} {mark}</source>
        <translation>तराज़ू: {weight} {mark}</translation>
    </message>
</context>
<context>
    <name>Suggestions</name>
    <message>
        <source>Likely</source>
        <extracomment>(lowest calibrated score, band, words): what a tile says about how sure the model is</extracomment>
        <translation>संभावित</translation>
    </message>
    <message>
        <source>Maybe</source>
        <translation>शायद</translation>
    </message>
    <message>
        <source>Unlikely</source>
        <translation>कम संभव</translation>
    </message>
    <message>
        <source>✓ Added</source>
        <translation>✓ जुड़ा</translation>
    </message>
    <message>
        <source>added to your bill</source>
        <translation>आपके बिल में जुड़ गया</translation>
    </message>
    <message>
        <source>being weighed</source>
        <translation>तौला जा रहा है</translation>
    </message>
    <message>
        <source>None of these?</source>
        <translation>इनमें से कोई नहीं?</translation>
    </message>
    <message>
        <source>Search or browse</source>
        <extracomment>the panel shows the &quot;not recognised&quot; state itself (kiosk.ui.teach then adds no panel of its own)</extracomment>
        <translation>खोजें या देखें</translation>
    </message>
    <message>
        <source>Call staff</source>
        <translation>स्टाफ़ बुलाएँ</translation>
    </message>
    <message>
        <source>Is it this? Tap your item to add it</source>
        <translation>क्या यह है? जोड़ने के लिए अपना सामान छुएँ</translation>
    </message>
    <message>
        <source>Not sure what this is — tap your item</source>
        <translation>पक्का पता नहीं — अपना सामान छुएँ</translation>
    </message>
    <message>
        <source>Not listed? Tap “None of these” to search or browse</source>
        <translation>सूची में नहीं? खोजने के लिए “इनमें से कोई नहीं” छुएँ</translation>
    </message>
    <message>
        <source>✓ Added {name}. Not right? Tap the correct item</source>
        <translation>✓ {name} जुड़ गया। सही नहीं? सही सामान छुएँ</translation>
    </message>
    <message>
        <source>Then place the next item on the tray</source>
        <translation>फिर अगला सामान ट्रे पर रखें</translation>
    </message>
    <message>
        <source>✓ {name} added · {amount}</source>
        <translation>✓ {name} जुड़ गया · {amount}</translation>
    </message>
    <message>
        <source>✓ {name} added</source>
        <translation>✓ {name} जुड़ गया</translation>
    </message>
    <message>
        <source>Place the next item. Not right? Tap the correct item</source>
        <translation>अगला सामान रखें। सही नहीं? सही सामान छुएँ</translation>
    </message>
    <message>
        <source>Not recognised — search or call staff</source>
        <translation>पहचाना नहीं गया — खोजें या स्टाफ़ बुलाएँ</translation>
    </message>
    <message>
        <source>The camera does not know this item</source>
        <translation>कैमरा इस सामान को नहीं पहचानता</translation>
    </message>
    <message>
        <source>Find it by name or picture, or call staff to help</source>
        <translation>नाम या तस्वीर से खोजें, या मदद के लिए स्टाफ़ बुलाएँ</translation>
    </message>
    <message>
        <source>Please wait: staff is on the way</source>
        <translation>कृपया प्रतीक्षा करें: स्टाफ़ आ रहा है</translation>
    </message>
    <message>
        <source>Staff must check {name}</source>
        <translation>स्टाफ़ को {name} जाँचना होगा</translation>
    </message>
    <message>
        <source>The weight on the tray does not fit {name}. Staff will check it.</source>
        <translation>ट्रे पर रखा वज़न {name} से मेल नहीं खाता। स्टाफ़ इसे जाँचेगा।</translation>
    </message>
    <message>
        <source>The camera is not working</source>
        <translation>कैमरा काम नहीं कर रहा</translation>
    </message>
    <message>
        <source>Find your item by name or picture</source>
        <translation>अपना सामान नाम या तस्वीर से खोजें</translation>
    </message>
    <message>
        <source>Use Search or browse, or call staff</source>
        <translation>खोजें या देखें, या स्टाफ़ बुलाएँ</translation>
    </message>
    <message>
        <source>Place an item on the tray</source>
        <translation>ट्रे पर सामान रखें</translation>
    </message>
    <message>
        <source>One item at a time, then wait for it</source>
        <translation>एक बार में एक सामान, फिर थोड़ा रुकें</translation>
    </message>
    <message>
        <source>No barcode? No problem: the camera recognises the item</source>
        <translation>बारकोड नहीं? कोई बात नहीं: कैमरा सामान पहचान लेता है</translation>
    </message>
    <message>
        <source>{price}/kg</source>
        <translation>{price}/kg</translation>
    </message>
    <message>
        <source>Put {name} on the scale</source>
        <translation>{name} तराज़ू पर रखें</translation>
    </message>
    <message>
        <source>Hold still — weighing {name}…</source>
        <translation>हिलाएँ नहीं — {name} तौल रहे हैं…</translation>
    </message>
    <message>
        <source>Weighing {name}…</source>
        <translation>{name} तौल रहे हैं…</translation>
    </message>
    <message>
        <source>{weight} × {per_kg} = about {amount}</source>
        <translation>{weight} × {per_kg} = लगभग {amount}</translation>
    </message>
</context>
<context>
    <name>Teach</name>
    <message>
        <source>Cannot teach here: {why}</source>
        <translation>यहाँ सिखाया नहीं जा सकता: {why}</translation>
    </message>
    <message>
        <source>No camera frame yet: is the camera connected?</source>
        <translation>कैमरे से अभी कोई तस्वीर नहीं: क्या कैमरा जुड़ा है?</translation>
    </message>
    <message>
        <source>{sku} added to the catalog: now take its photos</source>
        <translation>{sku} कैटलॉग में जुड़ गया: अब इसकी तस्वीरें लें</translation>
    </message>
    <message>
        <source>{sku}: the till takes these photos for {names}, so they were not taught. If it is a different product, say so below.</source>
        <translation>{sku}: काउंटर इन तस्वीरों को {names} समझता है, इसलिए ये नहीं सिखाई गईं। अगर यह अलग उत्पाद है, तो नीचे बताएँ।</translation>
    </message>
    <message>
        <source>Taught: {summary}. It is suggested from the next placement on.</source>
        <translation>सिखा दिया: {summary}। अगली बार ट्रे पर रखने से यह सुझाया जाएगा।</translation>
    </message>
    <message>
        <source>{sku}: all {usable} usable photo(s) are taught here already, nothing new to add</source>
        <translation>{sku}: सभी {usable} काम की तस्वीरें यहाँ पहले से सिखाई जा चुकी हैं, जोड़ने को कुछ नया नहीं</translation>
    </message>
    <message>
        <source>{sku}: {usable} usable photo(s) of {total}, at least {needed} needed (refused: {why})</source>
        <translation>{sku}: {total} में से {usable} काम की तस्वीरें, कम से कम {needed} चाहिए (अस्वीकार: {why})</translation>
    </message>
    <message>
        <source>{sku}: enrolled {n} photo(s)</source>
        <translation>{sku}: {n} तस्वीरें दर्ज</translation>
    </message>
    <message>
        <source>, refused {n} ({why})</source>
        <translation>, {n} नामंज़ूर ({why})</translation>
    </message>
    <message>
        <source>Teach a new product</source>
        <translation>नया सामान सिखाएँ</translation>
    </message>
    <message>
        <source>by the piece</source>
        <extracomment>how the catalog sells an item (the value the service takes) → its word on the screen</extracomment>
        <translation>गिनती से</translation>
    </message>
    <message>
        <source>by weight</source>
        <translation>वज़न से</translation>
    </message>
    <message>
        <source>blurred</source>
        <extracomment>why a photo was refused (:class:`kiosk.gallery.PhotoVerdict.reason`) → its word on the screen</extracomment>
        <translation>धुंधली</translation>
    </message>
    <message>
        <source>empty tray</source>
        <translation>खाली ट्रे</translation>
    </message>
    <message>
        <source>unreadable</source>
        <translation>पढ़ी नहीं जा सकी</translation>
    </message>
    <message>
        <source>too small</source>
        <translation>बहुत छोटी</translation>
    </message>
    <message>
        <source>the same photo again</source>
        <translation>वही फ़ोटो दोबारा</translation>
    </message>
    <message>
        <source>taught already</source>
        <translation>पहले से सिखाया गया</translation>
    </message>
    <message>
        <source>another product</source>
        <translation>दूसरा उत्पाद</translation>
    </message>
    <message>
        <source>{sku} is not in the catalog: add its row below first</source>
        <extracomment>(pattern of the teaching desk&apos;s English, template for the screen): its SKU lines, why teaching is not possible, its refusals (``tests/ui/test_i18n.py`` checks them against ``kiosk/services/teaching.py``)</extracomment>
        <translation>{sku} कैटलॉग में नहीं है: पहले नीचे इसकी पंक्ति जोड़ें</translation>
    </message>
    <message>
        <source>{item} — not on sale (inactive): it cannot be taught</source>
        <translation>{item} — बिक्री में नहीं (निष्क्रिय): इसे सिखाया नहीं जा सकता</translation>
    </message>
    <message>
        <source>{item} — taught here already (more photos add to it)</source>
        <translation>{item} — यहाँ पहले से सिखाया गया (और तस्वीरें इसमें जुड़ेंगी)</translation>
    </message>
    <message>
        <source>no gallery is configured (gallery in the kiosk settings)</source>
        <translation>कोई गैलरी सेट नहीं है (कियोस्क सेटिंग में gallery)</translation>
    </message>
    <message>
        <source>no recognition model is loaded</source>
        <translation>कोई पहचान मॉडल लोड नहीं है</translation>
    </message>
    <message>
        <source>model v{version} cannot learn new products: it needs a newer model from head office</source>
        <translation>मॉडल v{version} नए सामान नहीं सीख सकता: मुख्य कार्यालय से नया मॉडल चाहिए</translation>
    </message>
    <message>
        <source>{sku} is already in the catalog</source>
        <translation>{sku} पहले से कैटलॉग में है</translation>
    </message>
    <message>
        <source>{sku} cannot be taught: {why}</source>
        <translation>{sku} सिखाया नहीं जा सकता: {why}</translation>
    </message>
    <message>
        <source>It is not {names}: teach it as a different product</source>
        <translation>यह {names} नहीं है: इसे अलग उत्पाद के रूप में सिखाएँ</translation>
    </message>
    <message>
        <source>Back</source>
        <translation>वापस</translation>
    </message>
    <message>
        <source>SKU id, e.g. mango-alphonso</source>
        <translation>SKU id, जैसे mango-alphonso</translation>
    </message>
    <message>
        <source>Name on the receipt</source>
        <translation>रसीद पर नाम</translation>
    </message>
    <message>
        <source>Price in rupees (per kg if sold by weight), e.g. 45.50</source>
        <translation>दाम रुपये में (वज़न से बिके तो प्रति kg), जैसे 45.50</translation>
    </message>
    <message>
        <source>HSN code (4, 6 or 8 digits)</source>
        <translation>HSN कोड (4, 6 या 8 अंक)</translation>
    </message>
    <message>
        <source>Name</source>
        <translation>नाम</translation>
    </message>
    <message>
        <source>Price ₹</source>
        <translation>दाम ₹</translation>
    </message>
    <message>
        <source>Sold</source>
        <translation>बिक्री</translation>
    </message>
    <message>
        <source>GST %</source>
        <translation>GST %</translation>
    </message>
    <message>
        <source>Add to catalog</source>
        <translation>कैटलॉग में जोड़ें</translation>
    </message>
    <message>
        <source>Take photo</source>
        <translation>तस्वीर लें</translation>
    </message>
    <message>
        <source>Take {n} photos</source>
        <translation>{n} तस्वीरें लें</translation>
    </message>
    <message>
        <source>Start again</source>
        <translation>फिर से शुरू करें</translation>
    </message>
    <message>
        <source>Teach</source>
        <translation>सिखाएँ</translation>
    </message>
    <message>
        <source>Type the product&apos;s SKU id</source>
        <translation>सामान का SKU id लिखें</translation>
    </message>
    <message>
        <source>{good} good photo(s) of the {needed} needed</source>
        <translation>{needed} ज़रूरी में से {good} अच्छी तस्वीरें</translation>
    </message>
    <message>
        <source>; refused {refused}: {why}</source>
        <translation>; {refused} नामंज़ूर: {why}</translation>
    </message>
    <message>
        <source>Search</source>
        <translation>खोजें</translation>
    </message>
    <message>
        <source>Call staff</source>
        <translation>स्टाफ़ बुलाएँ</translation>
    </message>
</context>
<context>
    <name>Unlabelled</name>
    <message>
        <source>Not recognised today ({n})</source>
        <translation>आज पहचाने नहीं गए ({n})</translation>
    </message>
    <message>
        <source>Staff: what was this item? ({time})</source>
        <translation>स्टाफ़: यह सामान क्या था? ({time})</translation>
    </message>
    <message>
        <source>No guess</source>
        <translation>कोई अनुमान नहीं</translation>
    </message>
    <message>
        <source>Model guessed: {name}</source>
        <translation>मॉडल का अनुमान: {name}</translation>
    </message>
    <message>
        <source>Model guessed: {name} ({percent} %)</source>
        <translation>मॉडल का अनुमान: {name} ({percent} %)</translation>
    </message>
    <message>
        <source>Not recognised today — tap one, then say what it was</source>
        <translation>आज पहचाने नहीं गए — एक चुनें, फिर बताएँ कि वह क्या था</translation>
    </message>
    <message>
        <source>Back</source>
        <translation>वापस</translation>
    </message>
    <message>
        <source>Pick the product…</source>
        <translation>उत्पाद चुनें…</translation>
    </message>
    <message>
        <source>Not a product</source>
        <translation>उत्पाद नहीं</translation>
    </message>
    <message>
        <source>A hand, a bag, an empty tray: kept out of training</source>
        <translation>हाथ, थैला, ख़ाली ट्रे: प्रशिक्षण से बाहर रखा जाएगा</translation>
    </message>
    <message>
        <source>Nothing left to label today.</source>
        <translation>आज लेबल करने के लिए कुछ नहीं बचा।</translation>
    </message>
</context>
<context>
    <name>Weight</name>
    <message>
        <source>Stable</source>
        <extracomment>net state → (short state text, style state, what the shopper should do — &quot;&quot; when nothing)</extracomment>
        <translation>स्थिर</translation>
    </message>
    <message>
        <source>Empty</source>
        <translation>खाली</translation>
    </message>
    <message>
        <source>Settling…</source>
        <translation>स्थिर हो रहा है…</translation>
    </message>
    <message>
        <source>Too heavy</source>
        <translation>बहुत भारी</translation>
    </message>
    <message>
        <source>Too heavy for the scale: take some off</source>
        <translation>तराज़ू के लिए बहुत भारी: कुछ हटाएँ</translation>
    </message>
    <message>
        <source>Below zero</source>
        <translation>शून्य से कम</translation>
    </message>
    <message>
        <source>The scale reads below zero: call staff</source>
        <translation>तराज़ू शून्य से कम दिखा रहा है: स्टाफ़ बुलाएँ</translation>
    </message>
    <message>
        <source>Net below 0</source>
        <translation>शुद्ध वज़न 0 से कम</translation>
    </message>
    <message>
        <source>Less on the tray than the tare: is the bag right?</source>
        <translation>ट्रे पर टेयर से कम वज़न: क्या थैला सही है?</translation>
    </message>
    <message>
        <source>Under minimum</source>
        <translation>न्यूनतम से कम</translation>
    </message>
    <message>
        <source>Too light to weigh on its own</source>
        <translation>अकेले तौलने के लिए बहुत हल्का</translation>
    </message>
    <message>
        <source>Scale setup</source>
        <translation>तराज़ू सेटअप</translation>
    </message>
    <message>
        <source>The scale is set up wrongly: call staff</source>
        <translation>तराज़ू गलत सेट है: स्टाफ़ बुलाएँ</translation>
    </message>
    <message>
        <source>Take item off</source>
        <translation>सामान हटाएँ</translation>
    </message>
    <message>
        <source>Take the last item off the tray first</source>
        <translation>पहले पिछला सामान ट्रे से हटाएँ</translation>
    </message>
    <message>
        <source>Scale error</source>
        <translation>तराज़ू में गड़बड़ी</translation>
    </message>
    <message>
        <source>The scale is not answering: call staff</source>
        <translation>तराज़ू जवाब नहीं दे रहा: स्टाफ़ बुलाएँ</translation>
    </message>
    <message>
        <source>Too heavy for the scale</source>
        <translation>तराज़ू के लिए बहुत भारी</translation>
    </message>
    <message>
        <source>Scale below zero</source>
        <translation>तराज़ू शून्य से कम</translation>
    </message>
    <message>
        <source>Zero</source>
        <extracomment>the shopper tapped Bag (``&quot;bag&quot;``) — or tapped it again to take the tare off (``&quot;&quot;``)</extracomment>
        <translation>शून्य</translation>
    </message>
    <message>
        <source>No bag</source>
        <translation>थैला नहीं</translation>
    </message>
    <message>
        <source>Bag</source>
        <translation>थैला</translation>
    </message>
    <message>
        <source>NET · tare {tare} ({name})</source>
        <translation>शुद्ध · टेयर {tare} ({name})</translation>
    </message>
    <message>
        <source>Scale</source>
        <translation>तराज़ू</translation>
    </message>
</context>
<context>
    <name>Window</name>
    <message>
        <source>Place one item at a time on the tray</source>
        <extracomment>the shopper&apos;s pages (the header shows language, larger text and Help there) how much bigger the shopper&apos;s &quot;larger text&quot; makes everything</extracomment>
        <translation>ट्रे पर एक बार में एक सामान रखें</translation>
    </message>
    <message>
        <source>Search by name or PLU</source>
        <translation>नाम या PLU से खोजें</translation>
    </message>
    <message>
        <source>Browse by picture</source>
        <translation>तस्वीर से खोजें</translation>
    </message>
    <message>
        <source>Payment</source>
        <translation>भुगतान</translation>
    </message>
    <message>
        <source>Thank you for shopping with us</source>
        <translation>हमारे यहाँ खरीदारी के लिए धन्यवाद</translation>
    </message>
    <message>
        <source>Staff only</source>
        <translation>केवल स्टाफ़</translation>
    </message>
    <message>
        <source>Staff mode</source>
        <translation>स्टाफ़ मोड</translation>
    </message>
    <message>
        <source>Staff mode — price override</source>
        <translation>स्टाफ़ मोड — दाम बदलना</translation>
    </message>
    <message>
        <source>Staff mode — teach a new product</source>
        <translation>स्टाफ़ मोड — नया सामान सिखाएँ</translation>
    </message>
    <message>
        <source>{store} — self-checkout</source>
        <translation>{store} — सेल्फ़-चेकआउट</translation>
    </message>
    <message>
        <source>Search or browse</source>
        <translation>खोजें या देखें</translation>
    </message>
    <message>
        <source>Find your item: type its name or the PLU on its sticker</source>
        <translation>अपना सामान खोजें: उसका नाम या स्टिकर पर लिखा PLU टाइप करें</translation>
    </message>
    <message>
        <source>Remove {name} from your bill?</source>
        <translation>{name} को बिल से हटाएँ?</translation>
    </message>
    <message>
        <source>{qty} · {amount}. Put the item aside if you remove it.</source>
        <translation>{qty} · {amount}। हटाने पर सामान अलग रख दें।</translation>
    </message>
    <message>
        <source>Keep it</source>
        <translation>रहने दें</translation>
    </message>
    <message>
        <source>Remove</source>
        <translation>हटाएँ</translation>
    </message>
    <message>
        <source>Removed from your bill</source>
        <translation>बिल से हटा दिया गया</translation>
    </message>
    <message>
        <source>Your cart is empty</source>
        <translation>आपकी टोकरी खाली है</translation>
    </message>
    <message>
        <source>Wrong PIN — try again</source>
        <translation>गलत PIN — फिर कोशिश करें</translation>
    </message>
    <message>
        <source>Staff: correct “{name}” to…</source>
        <translation>स्टाफ़: “{name}” को सुधारें…</translation>
    </message>
    <message>
        <source>Pay {total}</source>
        <translation>भुगतान {total}</translation>
    </message>
    <message>
        <source>Pay</source>
        <translation>भुगतान करें</translation>
    </message>
    <message>
        <source>Staff has been called: please wait, someone is on the way</source>
        <translation>स्टाफ़ को बुलाया गया है: कृपया प्रतीक्षा करें, कोई आ रहा है</translation>
    </message>
    <message>
        <source>Checking your payment of {amount} with the terminal: please wait</source>
        <translation>आपके {amount} के भुगतान की टर्मिनल से जाँच हो रही है: कृपया प्रतीक्षा करें</translation>
    </message>
    <message>
        <source>Staff must approve this removal</source>
        <translation>इसे हटाने के लिए स्टाफ़ की मंज़ूरी चाहिए</translation>
    </message>
    <message>
        <source>{name} ({amount}) stays on your bill until staff approves. Staff has been called.</source>
        <translation>स्टाफ़ की मंज़ूरी तक {name} ({amount}) आपके बिल में रहेगा। स्टाफ़ को बुलाया गया है।</translation>
    </message>
    <message>
        <source>Keep the item</source>
        <translation>सामान रखें</translation>
    </message>
    <message>
        <source>Staff removed the item from your bill</source>
        <translation>स्टाफ़ ने सामान आपके बिल से हटा दिया</translation>
    </message>
    <message>
        <source>Staff kept the item on your bill</source>
        <translation>स्टाफ़ ने सामान आपके बिल में रखा</translation>
    </message>
    <message>
        <source>Staff mode locked</source>
        <extracomment>the page now shown (name), after every page change</extracomment>
        <translation>स्टाफ़ मोड बंद हुआ</translation>
    </message>
    <message>
        <source>Barcode ignored: scan items on the checkout page</source>
        <translation>बारकोड अनदेखा किया गया: सामान चेकआउट पेज पर स्कैन करें</translation>
    </message>
</context>
</TS>
